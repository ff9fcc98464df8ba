import type { SparseCodes } from './types';

/**
 * Metric definitions shared by the trainer and its tests.
 *   FVE = 1 − Σ_t ‖x_t − x̂_t‖² / Σ_t ‖x_t − x̄‖², x̄ the mean token of the data (SAELens / sparsify).
 *   L0 = mean number of non-zero latents per token.
 *   dead fraction = share of latents that are zero on every token; layer density = 100 · (1 − dead) %.
 */

/** Σ_t ‖x_t − x̄‖² over x [T, dIn], accumulated in float64. */
export function totalVariance(x: Float32Array, T: number, dIn: number): number {
  return totalVarianceOf(T, dIn, T, (from, n) => x.subarray(from * dIn, (from + n) * dIn));
}

/**
 * totalVariance of rows read `chunk` at a time by `read(from, n)` (rows [from, from + n)), in two
 * passes in token order: the same number however the rows are stored or chunked. `inspect` sees
 * each chunk of the first pass.
 */
export function totalVarianceOf(T: number, dIn: number, chunk: number, read: (from: number, n: number) => Float32Array, inspect?: (x: Float32Array, from: number) => void): number {
  const mean = new Float64Array(dIn);
  for (let from = 0; from < T; from += chunk) {
    const n = Math.min(chunk, T - from);
    const x = read(from, n);
    inspect?.(x, from);
    for (let t = 0; t < n; t++) for (let i = 0, o = t * dIn; i < dIn; i++) mean[i] += x[o + i];
  }
  for (let i = 0; i < dIn; i++) mean[i] /= T;
  let s = 0;
  for (let from = 0; from < T; from += chunk) {
    const n = Math.min(chunk, T - from);
    const x = read(from, n);
    for (let t = 0; t < n; t++) {
      for (let i = 0, o = t * dIn; i < dIn; i++) {
        const d = x[o + i] - mean[i];
        s += d * d;
      }
    }
  }
  return s;
}

export function fve(sse: number, sst: number): number {
  return 1 - sse / sst;
}

/** Per-token and per-latent statistics of sparse codes over rows [0, n). */
export interface CodeStats {
  /** Mean non-zero latents per token. */
  l0: number;
  /** Σ|z| over all tokens and latents. */
  absSum: number;
  /** [nLatents] 1 where the latent is non-zero on some token. */
  fired: Uint8Array;
  deadFraction: number;
}

export function codeStats(codes: SparseCodes, nLatents: number): CodeStats {
  const n = codes.rowPtr.length - 1;
  const fired = new Uint8Array(nLatents);
  let nonzero = 0;
  let absSum = 0;
  for (let j = 0; j < codes.rowPtr[n]; j++) {
    const v = codes.value[j];
    if (v !== 0) {
      nonzero++;
      absSum += Math.abs(v);
      fired[codes.index[j]] = 1;
    }
  }
  return { l0: nonzero / n, absSum, fired, deadFraction: deadFraction(fired) };
}

export function deadFraction(fired: Uint8Array): number {
  let alive = 0;
  for (let i = 0; i < fired.length; i++) alive += fired[i];
  return 1 - alive / fired.length;
}

/**
 * Σ_{i≠j} Cov(z)_ij² for the tokens [from, to) of sparse codes, Cov with the n − 1 denominator.
 * Uses ‖ZcᵀZc‖_F = ‖Zc·Zcᵀ‖_F (Zc = Z centred over tokens): a [n, n] Gram matrix of sparse rows
 * instead of the [nLatents, nLatents] covariance, O(n²·k) time and O(nLatents) memory.
 */
export function offDiagonalCovSq(codes: SparseCodes, nLatents: number, from: number, to: number): number {
  const n = to - from;
  if (n < 2) return 0;
  const { rowPtr, index, value } = codes;
  const mean = new Float64Array(nLatents);
  const sq = new Float64Array(nLatents); // Σ_t z_tl²
  for (let j = rowPtr[from]; j < rowPtr[to]; j++) {
    mean[index[j]] += value[j];
    sq[index[j]] += value[j] * value[j];
  }
  let meanSq = 0;
  let diagSq = 0;
  for (let l = 0; l < nLatents; l++) {
    mean[l] /= n;
    meanSq += mean[l] * mean[l];
    const c = (sq[l] - n * mean[l] * mean[l]) / (n - 1);
    diagSq += c * c;
  }
  const zMean = new Float64Array(n); // z_t · mean
  for (let t = 0; t < n; t++) {
    let s = 0;
    for (let j = rowPtr[from + t]; j < rowPtr[from + t + 1]; j++) s += value[j] * mean[index[j]];
    zMean[t] = s;
  }
  const row = new Float64Array(nLatents); // dense copy of row t
  let frob = 0; // Σ_ts G_ts², G = Zc·Zcᵀ
  for (let t = 0; t < n; t++) {
    const a = rowPtr[from + t];
    const b = rowPtr[from + t + 1];
    for (let j = a; j < b; j++) row[index[j]] = value[j];
    for (let s = t; s < n; s++) {
      let dot = 0;
      for (let j = rowPtr[from + s]; j < rowPtr[from + s + 1]; j++) dot += row[index[j]] * value[j];
      const g = dot - zMean[t] - zMean[s] + meanSq;
      frob += s === t ? g * g : 2 * g * g;
    }
    for (let j = a; j < b; j++) row[index[j]] = 0;
  }
  return Math.max(0, frob / ((n - 1) * (n - 1)) - diagSq);
}
