// The SAE model's encode and decode in float64, written from SAELens 6.18's order of operations
// (process_sae_in → x·W_enc + b_enc → activation; decode → ·W_dec + b_dec → un-normalise) with this
// project's top-k tie rule. Held against src/core/sae/encode.ts.
import type { SaeModel } from '../../../src/core/sae/model';

export interface Reference {
  /** z [d_sae] per token. */
  z: Float64Array[];
  /** x̂ [d_in] per token. */
  xhat: Float64Array[];
}

export function referenceSae(m: SaeModel, x: Float32Array, T: number): Reference {
  const { dIn: d, dSae: L } = m;
  const z: Float64Array[] = [];
  const xhat: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const row = Array.from(x.subarray(t * d, (t + 1) * d));
    let mu = 0;
    let sIn = 1;
    let sOut = 1;
    const n = m.normalization;
    if (n.kind === 'layer_norm') {
      mu = row.reduce((a, b) => a + b, 0) / d;
      const sd = Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / (d - 1)); // torch.std: unbiased
      sIn = 1 / (sd + 1e-5);
      sOut = sd;
    } else if (n.kind === 'constant_norm_rescale') {
      sIn = Math.sqrt(d) / Math.hypot(...row);
      sOut = 1 / sIn;
    } else if (n.kind === 'expected_average_only_in') {
      sIn = n.scalingFactor;
      sOut = 1 / sIn;
    }
    const input = row.map((v, i) => (v - mu) * sIn - (m.applyBDecToInput ? m.bDec[i] : 0));
    const pre = new Float64Array(L);
    for (let j = 0; j < L; j++) {
      let s = m.bEnc[j];
      for (let i = 0; i < d; i++) s += input[i] * m.wEnc[i * L + j];
      pre[j] = s;
    }
    const a = m.activation;
    const kth = a.kind === 'topk' ? [...pre].sort((p, q) => q - p)[a.k - 1] : 0;
    const zt = pre.map((p, j) => (a.kind === 'relu' ? Math.max(p, 0) : a.kind === 'jumprelu' ? (p > a.threshold[j] && p > 0 ? p : 0) : p > 0 && p >= kth ? p : 0));
    const out = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = m.bDec[i];
      for (let j = 0; j < L; j++) if (zt[j] !== 0) s += zt[j] * m.wDec[j * d + i];
      out[i] = s * sOut + mu;
    }
    z.push(zt);
    xhat.push(out);
  }
  return { z, xhat };
}
