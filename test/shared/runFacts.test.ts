import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runFacts } from '../../src/shared/runFacts';
import { makeRunView } from '../fixtures/runView';

test('per-token tops, per-latent facts and hues come from the analysis report', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-facts-'));
  try {
    const view = makeRunView(path.join(tmp, 'run'));
    const f = runFacts(view);
    const hungary = view.tokens.tokens.findIndex((t) => t.text === ' Hungary');
    assert.deepEqual(f.top(hungary), [
      { latent: 0, value: 4 },
      { latent: 2, value: 0.5 },
    ]);
    assert.deepEqual(f.top(999), []);

    const geo = f.facts(0);
    assert.deepEqual(geo.flags, ['concept']);
    assert.equal(geo.concept?.score, 4);
    assert.ok(geo.concept!.p! < 0.05);
    assert.equal(geo.concept!.significant, true);
    assert.equal(f.hue(0), 'geography');
    // The always-on #2 fires on every concept token (support ≥ 2) but does not pass: no flag, no hue.
    assert.equal(f.facts(2).concept?.significant, false);
    assert.ok(!f.facts(2).flags.includes('concept'));

    assert.deepEqual(f.facts(1).flags, ['punctuation']);
    assert.equal(f.hue(1), 'punctuation');
    assert.ok(f.facts(2).flags.includes('always-on'));
    assert.equal(f.hue(3), 'other');
    const dead = f.facts(5);
    assert.equal(dead.densityPct, 0);
    assert.equal(dead.concept, undefined);
    assert.deepEqual(dead.flags, []);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the tint rule: a latent at its own peak beats an always-on latent at its typical value; near-always latents are skipped by default', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-tint-'));
  try {
    const view = makeRunView(path.join(tmp, 'run'));
    const a = view.analysis;
    const from = view.tokens.tokens.findIndex((t) => t.text === ' from');
    // On " from": the always-on #2 at 3 (typical; its document max 6) and #3 at 1 (its document max 1.1).
    a.perToken.latents[from] = [2, 3];
    a.perToken.values[from] = [3, 1];
    a.latents.max[2] = 6;
    a.latents.max[3] = 1.1;
    const f = runFacts(view);
    const all = f.tint(from, false);
    assert.equal(all.latent, 3, 'raw activation would pick #2; its share of its own max is 50 %, #3 is at 91 %');
    assert.ok(Math.abs(all.share - 1 / 1.1) < 1e-12);
    assert.equal(all.hue, 'other');
    assert.equal(all.why, "Tint #3: 91 % of its document max, the highest of the token's 2 strongest latents, always-on ones included");
    const skipping = f.tint(from, true);
    assert.equal(skipping.latent, 3);
    assert.match(skipping.why, /the token's only candidate \(always-on latents left out\)$/);
    // Ties in share go to the larger activation.
    a.perToken.latents[from] = [2, 3];
    a.latents.max[2] = 3;
    a.latents.max[3] = 1;
    assert.equal(runFacts(view).tint(from, false).latent, 2);
    assert.deepEqual(runFacts(view).tint(999, true), { share: 0, value: 0, hue: 'other', why: 'No tint: no latent fires here' });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
