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
    assert.equal(f.hue(0), 'geography');

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
