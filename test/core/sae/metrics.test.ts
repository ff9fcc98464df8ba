import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeStats, fve, offDiagonalCovSq, totalVariance } from '../../../src/core/sae/metrics';
import { csr } from '../../fixtures/csr';


test('FVE by hand: x = [[1,0],[3,0],[2,3]], mean [2,1], Σ‖x−x̄‖² = 1+1+1+1+4 = 8; SSE 2 gives FVE 0.75', () => {
  const x = Float32Array.from([1, 0, 3, 0, 2, 3]);
  assert.equal(totalVariance(x, 3, 2), 8);
  assert.equal(fve(2, 8), 0.75);
  assert.equal(fve(0, 8), 1);
});

test('L0 and dead fraction by hand: 3 tokens, 5 latents, latents 1 and 4 never fire', () => {
  const codes = csr([
    [2, 0, 1, 0, 0],
    [0, 0, 3, 0, 0],
    [1, 0, 1, 4, 0],
  ]);
  const s = codeStats(codes, 5);
  assert.equal(s.l0, 6 / 3);
  assert.equal(s.absSum, 12);
  assert.deepEqual([...s.fired], [1, 0, 1, 1, 0]);
  assert.equal(s.deadFraction, 2 / 5);
});

test('off-diagonal squared covariance matches the dense definition (n − 1 denominator)', () => {
  const rows = [
    [2, 0, 1, 0],
    [0, 5, 3, 0],
    [1, 0, 1, 4],
    [0, 2, 0, 1],
  ];
  const n = rows.length;
  const L = rows[0].length;
  const mean = Array.from({ length: L }, (_, l) => rows.reduce((s, r) => s + r[l], 0) / n);
  let want = 0;
  for (let a = 0; a < L; a++) {
    for (let b = 0; b < L; b++) {
      if (a === b) continue;
      const c = rows.reduce((s, r) => s + (r[a] - mean[a]) * (r[b] - mean[b]), 0) / (n - 1);
      want += c * c;
    }
  }
  const got = offDiagonalCovSq(csr(rows), L, 0, n);
  assert.ok(Math.abs(got - want) < 1e-9 * want, `${got} vs ${want}`);
  // A sub-range is the statistic of those rows alone.
  const sub = offDiagonalCovSq(csr(rows), L, 1, 3);
  assert.ok(Math.abs(sub - offDiagonalCovSq(csr(rows.slice(1, 3)), L, 0, 2)) < 1e-12);
});
