import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeCodes } from '../../../src/core/analysis/analyze';
import { bestMatch, formatStability, seedStability, unitColumns, type StabilityRun } from '../../../src/core/analysis/stability';
import { UserError } from '../../../src/core/errors';
import { Rng } from '../../../src/core/rng';
import { FIXTURE, fixtureParts } from './runFixture';

const { dIn, latents: L } = FIXTURE;
const parts = fixtureParts(6, 250);
const report = analyzeCodes({ tokens: parts.tokens.tokens, codes: parts.codes, nLatents: L }, { permutations: 200, top: 5 });

/** W [dIn, L] whose column l is column perm[l] of `w`, times `scale`, plus N(0, noise²) per entry. */
function permuted(w: Float32Array, perm: number[], scale: number, noise: number, rng: Rng): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < dIn; i++) for (let l = 0; l < L; l++) out[i * L + l] = scale * w[i * L + perm[l]] + noise * rng.normal();
  return out;
}

test('unit columns and best match: cosine of decoder directions, scale-free', () => {
  const w = Float32Array.from([3, 0, 4, 0, 0, 2]); // dIn 2, 3 latents: (3,0), (0,0), (4,2)
  const u = unitColumns(w, 2, 3);
  assert.deepEqual(Array.from(u), [1, 0, 0, 0, 4 / Math.sqrt(20), 2 / Math.sqrt(20)].map(Math.fround));
  const m = bestMatch(Float32Array.from([0, 1]), u, 2, 3);
  assert.equal(m.latent, 2);
  assert.ok(Math.abs(m.cos - 2 / Math.sqrt(20)) < 1e-6);
});

test('seed stability: latents of run 0 recur in a permuted, rescaled, slightly noisy copy and not in an unrelated W', () => {
  const rng = new Rng(1);
  const perm = rng.shuffle(Array.from({ length: L }, (_, i) => i));
  const inverse = new Array<number>(L);
  perm.forEach((src, dst) => (inverse[src] = dst));
  const runs: StabilityRun[] = [
    { seed: 0, w: parts.sae.wEnc, report },
    { seed: 1, w: permuted(parts.sae.wEnc, perm, 3, 0.01, rng), report },
    { seed: 2, w: rng.fillNormal(new Float32Array(dIn * L), 1), report },
  ];
  const s = seedStability(runs, dIn, L);
  const compared = [...report.conceptList, ...report.conceptCandidates].slice(0, report.options.top).map((e) => e.latent);
  assert.deepEqual(s.latents.map((l) => l.latent), compared, 'the concept list, then its candidates, up to top');
  assert.deepEqual(s.latents.map((l) => l.significant), compared.map((l) => report.conceptList.some((e) => e.latent === l)));
  for (const l of s.latents) {
    assert.equal(l.matches[0].latent, inverse[l.latent], 'found where the permutation put it');
    assert.ok(l.matches[0].cos > 0.99 && l.matches[0].recurs);
    assert.ok(!l.matches[1].recurs);
    assert.equal(l.recurrence, 0.5);
  }
  assert.deepEqual(s.perRun, [
    { seed: 1, share: 1 },
    { seed: 2, share: 0 },
  ]);
  assert.equal(s.recurInAll, 0);
  assert.equal(seedStability(runs.slice(0, 2), dIn, L).recurInAll, 1);
  assert.equal(seedStability(runs.slice(0, 2), dIn, L, 1).recurInAll, 0, 'a threshold of 1 needs identical directions');
  const text = formatStability(s);
  const significant = s.latents.filter((l) => l.significant).length;
  assert.ok(significant >= 1, 'the planted concept latent');
  assert.match(text, new RegExp(`0 of 5 compared latents \\(0 %\\) recur in every other seed \\(${significant} of them significant\\); per seed: 1: 100 %, 2: 0 %`));
});

test('seed stability refuses a single run and runs of different shapes', () => {
  assert.throws(() => seedStability([{ seed: 0, w: parts.sae.wEnc, report }], dIn, L), (e: unknown) => e instanceof UserError && /at least 2 runs/.test(e.message));
  assert.throws(
    () => seedStability([{ seed: 0, w: parts.sae.wEnc, report }, { seed: 1, w: new Float32Array(3), report }], dIn, L),
    (e: unknown) => e instanceof UserError && /seed 1 has W of 3 values/.test(e.message),
  );
});
