import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topLatentsPerToken } from '../../../src/core/analysis/tokenTop';
import { csr } from '../../fixtures/csr';

test('per token: the top N latents by activation, largest first, fewer where fewer fire', () => {
  const codes = csr([
    [0.5, 3, 0, 2, 9, 1],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 4, 0, 0, 0],
  ]);
  const top = topLatentsPerToken(codes, 3, 3);
  assert.equal(top.n, 3);
  assert.deepEqual(top.latents, [[4, 1, 3], [], [2]]);
  assert.deepEqual(top.values, [[9, 3, 2], [], [4]]);
});
