import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toColumns } from '../../../src/core/analysis/columns';
import { densityAnatomy, densityHistogram } from '../../../src/core/analysis/density';
import { csr } from '../../fixtures/csr';

// 10 tokens × 4 latents: latent 0 always on, 1 on 9 tokens, 2 on one token (value 7 at token 3), 3 dead.
const dense = Array.from({ length: 10 }, (_, t) => [1 + t, t === 0 ? 0 : 2, t === 3 ? 7 : 0, 0]);
const cols = toColumns(csr(dense), 10, 4);

test('density anatomy: per-latent density, mean |z|, max and its token; dead, always-on, near-always', () => {
  const d = densityAnatomy(cols, 0.9);
  assert.deepEqual(Array.from(d.count), [10, 9, 1, 0]);
  assert.deepEqual(Array.from(d.densityPct), [100, 90, 10, 0]);
  assert.deepEqual(Array.from(d.meanAbs), [5.5, 2, 7, 0]);
  assert.deepEqual(Array.from(d.max), [10, 2, 7, 0]);
  assert.deepEqual(Array.from(d.maxToken), [9, 1, 3, -1]);
  assert.deepEqual(d.dead, [3]);
  assert.deepEqual(d.alwaysOn, [0]);
  assert.deepEqual(d.nearAlways, [0, 1]);
  assert.equal(d.layerDensityPct, 75);
  assert.equal(d.l0, 2);
  assert.equal(d.meanDensityPct, 50);
  assert.deepEqual(densityAnatomy(cols, 0.95).nearAlways, [0]);
});

test('histogram of log10 density: bins from one token to every token, dead latents apart', () => {
  const h = densityHistogram(densityAnatomy(cols, 0.9).count, 10, 4);
  assert.deepEqual(h.edges, [-1, -0.75, -0.5, -0.25, 0]);
  assert.deepEqual(h.counts, [1, 0, 0, 2], 'log10(0.1) = −1 in the first bin, 0.9 and 1.0 in the last');
  assert.equal(h.dead, 1);
  assert.equal(h.counts.reduce((a, b) => a + b, 0) + h.dead, 4);
});
