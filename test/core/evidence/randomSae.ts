import type { SaeDecoder } from '../../../src/core/evidence/types';
import { Rng } from '../../../src/core/rng';
import type { SparseCodes } from '../../../src/core/sae/types';

/**
 * An untied SAE decoder (rows of norm ≈ `scale`, a non-zero b_dec) and codes over T tokens: token t
 * fires latents t mod 5 and 5 + (t mod 3) with values in [0.5, 1.5), latent 8 only from token
 * `lateFrom` on, and latent 9 never (dSae = 10).
 */
export function randomSae(T: number, dIn: number, seed: number, scale = 1, lateFrom = 10): { decoder: SaeDecoder; codes: SparseCodes } {
  const dSae = 10;
  const rng = new Rng(seed);
  const wDec = rng.fillNormal(new Float32Array(dSae * dIn), scale / Math.sqrt(dIn));
  const bDec = rng.fillNormal(new Float32Array(dIn), 0.1 * scale / Math.sqrt(dIn));
  const rowPtr = [0];
  const index: number[] = [];
  const value: number[] = [];
  for (let t = 0; t < T; t++) {
    for (const l of [t % 5, 5 + (t % 3), ...(t >= lateFrom ? [8] : [])]) {
      index.push(l);
      value.push(0.5 + rng.uniform());
    }
    rowPtr.push(index.length);
  }
  const raw = { normalization: { kind: 'none' }, applyBDecToInput: true, site: { prependBos: false, centred: false } } as const;
  return { decoder: { dSae, dIn, wDec, bDec, ...raw }, codes: { rowPtr: Int32Array.from(rowPtr), index: Int32Array.from(index), value: Float32Array.from(value) } };
}

/** x̂ = z·W_dec + b_dec in float64, rows [from, to) of the codes. */
export function reconstruction64(decoder: SaeDecoder, codes: SparseCodes, from: number, to: number): Float64Array {
  const { dIn, wDec, bDec } = decoder;
  const out = new Float64Array((to - from) * dIn);
  for (let t = from; t < to; t++) {
    for (let i = 0; i < dIn; i++) out[(t - from) * dIn + i] = bDec[i];
    for (let e = codes.rowPtr[t]; e < codes.rowPtr[t + 1]; e++) {
      for (let i = 0; i < dIn; i++) out[(t - from) * dIn + i] += codes.value[e] * wDec[codes.index[e] * dIn + i];
    }
  }
  return out;
}

/** z of latent `l` at token t, 0 where it does not fire. */
export function code(codes: SparseCodes, t: number, l: number): number {
  for (let e = codes.rowPtr[t]; e < codes.rowPtr[t + 1]; e++) if (codes.index[e] === l) return codes.value[e];
  return 0;
}
