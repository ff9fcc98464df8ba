import { auxkOf, type SaeHyper } from '../../../src/core/sae/types';

/** One step's AuxK state: which latents are dead (1), k′ = min(kAux, dead) and s = min(dead / kAux, 1). */
export interface ReferenceAux {
  dead: ArrayLike<number>;
  k: number;
  scale: number;
  /** e = x − x̂ [n, d] to hold fixed (the term's gradient does not flow through it); default: at these weights. */
  e?: ArrayLike<number>;
}

/** The AuxK inputs of a step whose dead latents are those with fired[j] = 0 (types.ts). */
export function auxAfter(fired: ArrayLike<number>, h: SaeHyper): ReferenceAux {
  const dead = Array.from(fired, (f) => (f ? 0 : 1));
  const D = dead.reduce((a: number, v) => a + v, 0);
  const { kAux } = auxkOf(h);
  return { dead, k: Math.min(kAux, D), scale: Math.min(D / kAux, 1) };
}

/** Each token's values of r [n, L] kept by the top-k rule (≥ the k-th largest, ties kept, > 0), masked. */
function topk(r: Float64Array, n: number, L: number, k: number, mask?: ArrayLike<number>): Float64Array {
  const z = new Float64Array(n * L);
  for (let t = 0; t < n; t++) {
    const row = Float64Array.from({ length: L }, (_, j) => (mask && !mask[j] ? 0 : r[t * L + j]));
    const kth = Float64Array.from(row).sort().reverse()[k - 1];
    for (let j = 0; j < L; j++) z[t * L + j] = row[j] > 0 && row[j] >= kth ? row[j] : 0;
  }
  return z;
}

/**
 * The SAE objective in float64, written out plainly, for the engines' tests: W [d, L], x [n, d];
 * z keeps each token's values ≥ its k-th largest of ReLU(x·W) (ties kept); loss = MSE + λ1·mean|z| +
 * λc·Σ_{i≠j} Cov(z)_ij² (n − 1 covariance) [+ α·AuxK with `aux`: s·Σ‖a·Wᵀ − (x − x̂)‖² / Σ‖x − x̄‖²,
 * a the top-k′ code of r on the dead latents]. `gate` is the on/off pattern of z (and a) (one character per
 * entry), so a finite-difference step that crosses a ReLU or top-k boundary can be recognised.
 */
export function referenceObjective(w: ArrayLike<number>, x: ArrayLike<number>, n: number, h: SaeHyper, aux?: ReferenceAux) {
  const { dIn: d, nLatents: L, k } = h;
  const r = new Float64Array(n * L);
  for (let t = 0; t < n; t++) {
    for (let j = 0; j < L; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += x[t * d + i] * w[i * L + j];
      r[t * L + j] = Math.max(0, s);
    }
  }
  const z = topk(r, n, L, k);
  let gate = Array.from(z, (v) => (v !== 0 ? '1' : '0')).join('');
  const decode = (codes: Float64Array) => {
    const out = new Float64Array(n * d);
    for (let t = 0; t < n; t++) for (let i = 0; i < d; i++) for (let j = 0; j < L; j++) out[t * d + i] += codes[t * L + j] * w[i * L + j];
    return out;
  };
  const xhat = decode(z);
  let sse = 0;
  for (let e = 0; e < n * d; e++) sse += (xhat[e] - x[e]) ** 2;
  let auxk = 0;
  if (aux) {
    const a = topk(r, n, L, aux.k, aux.dead);
    gate += Array.from(a, (v) => (v !== 0 ? '1' : '0')).join('');
    const ehat = decode(a);
    let tv = 0;
    for (let i = 0; i < d; i++) {
      let mean = 0;
      for (let t = 0; t < n; t++) mean += x[t * d + i] / n;
      for (let t = 0; t < n; t++) tv += (x[t * d + i] - mean) ** 2;
    }
    let s = 0;
    for (let e = 0; e < n * d; e++) s += (ehat[e] - (aux.e ? aux.e[e] : x[e] - xhat[e])) ** 2;
    auxk = (aux.scale * s) / tv;
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
  const resid = Float64Array.from(xhat, (v, e) => x[e] - v);
  return { loss: mse + h.l1 * l1 + h.decor * decor + auxkOf(h).coef * auxk, mse, l1, decor, auxk, sse, z, gate, resid };
}
