import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toColumns } from '../../../src/core/analysis/columns';
import { denseHeat, heatIntensity, heatmap } from '../../../src/core/analysis/heatmap';
import { csr } from '../../fixtures/csr';

test('heatmap: activations min–max scaled over all tokens (silent = 0), intensity = value²', () => {
  const cols = toColumns(csr([[2], [0], [4], [1]]), 4, 1);
  const h = heatmap(cols, 0);
  assert.deepEqual(h, { latent: 0, min: 0, max: 4, tokens: [0, 2, 3], scaled: [0.5, 1, 0.25], rest: 0 });
  assert.deepEqual(Array.from(denseHeat(h, 4)), [0.5, 0, 1, 0.25]);
  assert.equal(heatIntensity(0.5), 0.25);
});

test('heatmap of an always-on latent scales from its own minimum; a dead or constant latent is all 0', () => {
  const cols = toColumns(csr([[2, 0, 3], [4, 0, 3]]), 2, 3);
  assert.deepEqual(heatmap(cols, 0).scaled, [0, 1]);
  assert.deepEqual(heatmap(cols, 1), { latent: 1, min: 0, max: 0, tokens: [], scaled: [], rest: 0 });
  assert.deepEqual(heatmap(cols, 2).scaled, [0, 0]);
});
