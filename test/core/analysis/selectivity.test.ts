import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benjaminiHochberg } from '../../../src/core/analysis/benjaminiHochberg';
import { toColumns } from '../../../src/core/analysis/columns';
import { rankBiserial } from '../../../src/core/analysis/rankBiserial';
import { logFactorials, refine } from '../../../src/core/analysis/refinePermutations';
import { conceptSelectivity } from '../../../src/core/analysis/selectivity';
import { Rng } from '../../../src/core/rng';
import { csr } from '../../fixtures/csr';

function select(dense: number[][], group: number[], permutations: number, maxPermutations = permutations, seed = 0) {
  const cols = toColumns(csr(dense), dense.length, dense[0].length);
  return conceptSelectivity(cols, Int8Array.from(group), { permutations, maxPermutations, alpha: 0.05, seed });
}

/** The lab's score, straight from its definition. */
function labScore(values: number[], concept: boolean[]): number {
  const c = values.filter((v, i) => v !== 0 && concept[i]);
  const o = values.filter((v, i) => v !== 0 && !concept[i]);
  if (c.length === 0 || o.length === 0) return 0;
  return c.reduce((a, b) => a + b, 0) / c.length / (o.reduce((a, b) => a + b, 0) / o.length);
}

/** Exact permutation p-value by enumerating every placement of the concept labels. */
function exactP(values: number[], nConcept: number): number {
  const n = values.length;
  const observed = labScore(values, values.map((_, i) => i < nConcept));
  let hits = 0;
  let total = 0;
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === nConcept) {
      total++;
      const set = new Set(chosen);
      if (labScore(values, values.map((_, i) => set.has(i))) >= observed * (1 - 1e-12)) hits++;
      return;
    }
    for (let i = start; i < n; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return hits / total;
}

test('score is the lab\'s ratio of non-zero means; 0 when either side is empty; support counts firing concept tokens', () => {
  // tokens 0-2 concept, 3-5 other; latent 0: concept 4, 2 (one silent), other 1, 3; latent 1 only on concept; latent 2 silent.
  const dense = [
    [4, 1, 0],
    [2, 2, 0],
    [0, 0, 0],
    [1, 0, 0],
    [3, 0, 0],
    [0, 0, 0],
  ];
  const s = select(dense, [1, 1, 1, 0, 0, 0], 200);
  assert.equal(s.nConcept, 3);
  assert.equal(s.nOther, 3);
  assert.ok(Math.abs(s.score[0] - 3 / 2) < 1e-12);
  assert.equal(s.support[0], 2);
  assert.equal(s.score[1], 0, 'fires on no other token');
  assert.equal(s.support[1], 2);
  assert.equal(s.p[1], 1, 'observed score 0 has p = 1');
  assert.ok(Number.isNaN(s.p[2]), 'a silent latent is not tested');
  assert.equal(s.tested, 2);
});

test('permutation p-values agree with the exact enumeration', () => {
  const rng = new Rng(5);
  const T = 12;
  const nConcept = 4;
  // Latent l: values on its firing tokens; concept tokens are the first four.
  const dense = Array.from({ length: T }, (_, t) => [0, 1, 2].map((l) => (rng.uniform() < 0.8 ? rng.range(0.1, 2) + (l === 0 && t < nConcept ? 1.5 : 0) : 0)));
  const group = Array.from({ length: T }, (_, t) => (t < nConcept ? 1 : 0));
  const s = select(dense, group, 20000);
  for (let l = 0; l < 3; l++) {
    const exact = exactP(dense.map((r) => r[l]), nConcept);
    assert.ok(Math.abs(s.p[l] - exact) < 0.012, `latent ${l}: p ${s.p[l]} vs exact ${exact}`);
  }
});

test('p = (1 + exceedances) / (1 + P); refinement only adds permutations for latents with few exceedances', () => {
  const rng = new Rng(8);
  const T = 200;
  const group = Array.from({ length: T }, (_, t) => (t % 10 === 0 ? 1 : 0));
  // latent 0: strongly selective; latent 1: noise.
  const dense = Array.from({ length: T }, (_, t) => [group[t] ? 5 + rng.uniform() : rng.uniform() < 0.3 ? rng.uniform() : 0, rng.uniform() < 0.5 ? rng.uniform() : 0]);
  const fixed = select(dense, group, 1000);
  assert.equal(fixed.p[0], 1 / 1001, 'no permutation reaches the planted latent');
  assert.equal(fixed.permutationsUsed[0], 1000);
  const refined = select(dense, group, 1000, 50000);
  assert.equal(refined.permutationsUsed[0], 50000);
  assert.equal(refined.p[0], 1 / 50001);
  assert.ok(refined.p[1] > 0.01 && refined.permutationsUsed[1] === 1000, 'a noise latent keeps its 1000 shared permutations');
  const cols = toColumns(csr(dense), T, 2);
  const auto = conceptSelectivity(cols, Int8Array.from(group), { permutations: 10, alpha: 0.05, seed: 0 });
  assert.equal(auto.maxPermutations, Math.ceil(auto.tested / 0.05), 'default cap ⌈m / α⌉ (= 40 here)');
  assert.equal(conceptSelectivity(cols, Int8Array.from(group), { permutations: 1000, alpha: 0.05, seed: 0 }).maxPermutations, 1000, 'never below the shared count');
  const again = select(dense, group, 1000, 50000);
  assert.deepEqual(again.p, refined.p, 'seeded: the same seed gives the same p-values');
});

test('refine: its exceedance rate estimates the exact tail probability', () => {
  const values = [3.1, 2.2, 0.4, 1.9, 0.7, 2.8, 0.3, 1.1, 0.9, 0.5, 1.4, 0.2];
  const nConcept = 4;
  const exact = exactP(values, nConcept);
  const f = values.length;
  const sumC = values.slice(0, nConcept).reduce((a, b) => a + b, 0);
  const total = values.reduce((a, b) => a + b, 0);
  const observed = sumC / nConcept / ((total - sumC) / (f - nConcept));
  // All tokens fire here, so n = f and the hypergeometric draw always gives x = nConcept.
  const r = refine({ values: Float64Array.from(values), total }, f, nConcept, logFactorials(f), observed * (1 - 1e-9), { exceed: 0, permutations: 0 }, Infinity, 100000, new Rng(1));
  assert.equal(r.permutations, 100000);
  assert.ok(Math.abs(r.exceed / r.permutations - exact) < 0.004, `rate ${r.exceed / r.permutations} vs exact ${exact}`);
  const stopped = refine({ values: Float64Array.from(values), total }, f, nConcept, logFactorials(f), observed * (1 - 1e-9), { exceed: 0, permutations: 0 }, 10, 100000, new Rng(1));
  assert.equal(stopped.exceed, 10, 'stops at the requested number of exceedances');
});

test('no concept token, or no other token: nothing is tested, no NaN scores', () => {
  const dense = [
    [1, 2],
    [3, 0],
  ];
  for (const group of [
    [0, 0],
    [1, 1],
  ]) {
    const s = select(dense, group, 100);
    assert.equal(s.tested, 0);
    assert.deepEqual(Array.from(s.score), [0, 0]);
    assert.ok(Array.from(s.p).every(Number.isNaN));
  }
});

test('a contrast group: tokens outside it (−1) take no part', () => {
  const dense = [[2], [1], [100], [1]];
  const s = select(dense, [1, 0, -1, 0], 100);
  assert.equal(s.score[0], 2, 'the 100 on an untested token is ignored');
});

test('Benjamini–Hochberg q-values, with untested entries left out of m', () => {
  const q = benjaminiHochberg(Float64Array.from([0.01, 0.04, NaN, 0.03, 0.005]));
  const want = [0.02, 0.04, NaN, 0.04, 0.02];
  want.forEach((w, i) => (Number.isNaN(w) ? assert.ok(Number.isNaN(q[i])) : assert.ok(Math.abs(q[i] - w) < 1e-12, `q[${i}] = ${q[i]}`)));
  assert.deepEqual(Array.from(benjaminiHochberg(Float64Array.from([0.9, 1]))), [1, 1]);
});

test('rank-biserial effect: +1, −1, 0, and zeros counted as ties', () => {
  assert.equal(rankBiserial(Float64Array.from([5, 6]), 2, Float64Array.from([1, 2]), 2), 1);
  assert.equal(rankBiserial(Float64Array.from([1]), 1, Float64Array.from([4, 5]), 2), -1);
  assert.equal(rankBiserial(Float64Array.from([2]), 1, Float64Array.from([2]), 1), 0);
  // concept {3, 0}, other {1, 0, 0}: pairs 3>1, 3>0, 3>0, 0<1, 0=0, 0=0 → U = 4 of 6 → r = 1/3.
  assert.ok(Math.abs(rankBiserial(Float64Array.from([3]), 2, Float64Array.from([1]), 3) - 1 / 3) < 1e-12);
  assert.equal(rankBiserial(new Float64Array(0), 0, Float64Array.from([1]), 1), 0);
});
