import type { SaeHyper } from '../../../src/core/sae/types';

/**
 * The SAE objective in float64, written out plainly, for the engines' tests: W [d, L], x [n, d];
 * z keeps each token's values ≥ its k-th largest of ReLU(x·W) (ties kept); loss = MSE + λ1·mean|z| +
 * λc·Σ_{i≠j} Cov(z)_ij² (n − 1 covariance). `gate` is the on/off pattern of z (one character per
 * entry), so a finite-difference step that crosses a ReLU or top-k boundary can be recognised.
 */
export function referenceObjective(w: ArrayLike<number>, x: ArrayLike<number>, n: number, h: SaeHyper) {
  const { dIn: d, nLatents: L, k } = h;
  const z = new Float64Array(n * L);
  let gate = '';
  for (let t = 0; t < n; t++) {
    const r = new Float64Array(L);
    for (let j = 0; j < L; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += x[t * d + i] * w[i * L + j];
      r[j] = Math.max(0, s);
    }
    const kth = Float64Array.from(r).sort().reverse()[k - 1];
    for (let j = 0; j < L; j++) {
      const on = r[j] > 0 && r[j] >= kth;
      z[t * L + j] = on ? r[j] : 0;
      gate += on ? '1' : '0';
    }
  }
  let sse = 0;
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < L; j++) s += z[t * L + j] * w[i * L + j];
      sse += (s - x[t * d + i]) ** 2;
    }
  }
  const l1 = z.reduce((a, v) => a + Math.abs(v), 0) / (n * L);
  const mean = new Float64Array(L);
  for (let t = 0; t < n; t++) for (let j = 0; j < L; j++) mean[j] += z[t * L + j] / n;
  let decor = 0;
  for (let a = 0; a < L; a++) {
    for (let b = 0; b < L; b++) {
      if (a === b) continue;
      let c = 0;
      for (let t = 0; t < n; t++) c += (z[t * L + a] - mean[a]) * (z[t * L + b] - mean[b]);
      decor += (c / (n - 1)) ** 2;
    }
  }
  const mse = sse / (n * d);
  return { loss: mse + h.l1 * l1 + h.decor * decor, mse, l1, decor, sse, z, gate };
}
