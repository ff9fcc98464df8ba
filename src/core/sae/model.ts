/**
 * One SAE model, whatever its origin: trained here (tied), or read from a SAELens, sparsify or
 * Latent Lens folder. Analysis, evidence and the editor read every SAE through it; the encoder that
 * runs it is src/core/sae/encodeGraph.ts. For one token x [d_in], exactly:
 *
 *   normalise  per token, μ and the scales s_in, s_out from x:
 *                none                      μ = 0,  s_in = 1,        s_out = 1
 *                expected_average_only_in  μ = 0,  s_in = c,        s_out = 1/c   (c: the scaling factor)
 *                constant_norm_rescale     μ = 0,  s_in = √d_in/‖x‖, s_out = 1/s_in
 *                layer_norm                μ = mean_i x_i, σ = √(Σ_i (x_i − μ)² / (d_in − 1)),
 *                                          s_in = 1/(σ + 1e-5), s_out = σ      (SAELens's, eps and all)
 *              x' = (x − μ)·s_in
 *   pre        = (x' − b_dec·[apply_b_dec_to_input])·W_enc + b_enc                [d_sae]
 *   z_j        relu      max(pre_j, 0)
 *              jumprelu  pre_j if pre_j > θ_j and pre_j > 0, else 0
 *              topk      pre_j if pre_j > 0 and pre_j ≥ kth, else 0, kth = the k-th largest pre of the
 *                        token (counting equal values separately): values tied with kth are all kept
 *   x̂          = (z·W_dec + b_dec)·s_out + μ
 *
 * SAELens's top-k (topk of pre, then ReLU) and sparsify's (ReLU, then topk) keep the same non-zero
 * latents except on exact float ties at the k-th value, where they keep k arbitrary ones.
 */
import { UserError } from '../errors';
import type { SparseCodes } from './types';

export type SaeActivation = { kind: 'relu' } | { kind: 'topk'; k: number } | { kind: 'jumprelu'; threshold: Float32Array /* [d_sae] */ };

export type SaeNormalization =
  | { kind: 'none' }
  | { kind: 'layer_norm' }
  | { kind: 'constant_norm_rescale' }
  | { kind: 'expected_average_only_in'; scalingFactor: number };

/** SAELens's epsilon of its layer_norm normalisation. */
export const LAYER_NORM_EPS = 1e-5;

/** What the SAE reads: a hook of a model, fed the way it was trained. */
export interface SaeSite {
  /** TransformerLens hook name, e.g. "blocks.6.hook_resid_pre". */
  hookName: string;
  /** The model it was trained on, as the SAE names it (e.g. "gpt2-small", "gpt2"). */
  modelName: string;
  /** Each context started with BOS (<|endoftext|>) in training: a window gets one, never analysed. */
  prependBos: boolean;
  /**
   * Trained on TransformerLens's model with center_writing_weights: residual-stream, hook_attn_out and
   * hook_mlp_out activations are then each token's activation minus its mean over d_model.
   */
  centred: boolean;
}

export interface SaeModel {
  dIn: number;
  dSae: number;
  wEnc: Float32Array; // [d_in, d_sae]
  bEnc: Float32Array; // [d_sae]
  wDec: Float32Array; // [d_sae, d_in]
  bDec: Float32Array; // [d_in]
  activation: SaeActivation;
  applyBDecToInput: boolean;
  normalization: SaeNormalization;
  /** W_dec = W_encᵀ, zero biases: the SAE Latent Lens trains. */
  tied: boolean;
  site: SaeSite;
}

/** What decoding reads of a model (the evidence's splices need no encoder): the decoder, the normalisation, how the hook is fed. */
export type SaeDecoding = Pick<SaeModel, 'dIn' | 'dSae' | 'wDec' | 'bDec' | 'normalization' | 'applyBDecToInput'> & { site: Pick<SaeSite, 'prependBos' | 'centred'> };

/** Side of the square tiles transpose() goes by: a tile's rows of both matrices stay in the cache (2× faster than row by row at 768 × 6144). */
const TILE = 16;

/** W [rows, cols] → Wᵀ [cols, rows]. */
export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = w[r * cols + c];
    }
  }
  return out;
}

/** The SAE Latent Lens trains: z = TopK_k(ReLU(x·W)), x̂ = z·Wᵀ, W [d_in, d_sae], no biases, raw activations. */
export function tiedSae(w: Float32Array, shape: { dIn: number; nLatents: number; k: number }, site: Pick<SaeSite, 'hookName' | 'modelName'>): SaeModel {
  const { dIn, nLatents: dSae, k } = shape;
  return {
    dIn,
    dSae,
    wEnc: w,
    bEnc: new Float32Array(dSae),
    wDec: transpose(w, dIn, dSae),
    bDec: new Float32Array(dIn),
    activation: { kind: 'topk', k },
    applyBDecToInput: true,
    normalization: { kind: 'none' },
    tied: true,
    site: { ...site, prependBos: false, centred: false },
  };
}

/** The SAE's tensors by SAELens's names (threshold only for jumprelu). */
export function saeTensors(m: SaeModel): Record<string, { data: Float32Array; shape: number[] }> {
  return {
    W_enc: { data: m.wEnc, shape: [m.dIn, m.dSae] },
    b_enc: { data: m.bEnc, shape: [m.dSae] },
    W_dec: { data: m.wDec, shape: [m.dSae, m.dIn] },
    b_dec: { data: m.bDec, shape: [m.dIn] },
    ...(m.activation.kind === 'jumprelu' ? { threshold: { data: m.activation.threshold, shape: [m.dSae] } } : {}),
  };
}

/** Index and value of the first NaN or ±Inf, if any. */
export function firstNonFinite(a: Float32Array): { index: number; value: number } | undefined {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return { index: i, value: a[i] };
  return undefined;
}

/**
 * Checks a model's sizes and values; `where` names its file in the errors ("…/sae_weights.safetensors").
 * Every problem is a UserError naming the tensor or field.
 */
export function checkSaeModel(m: SaeModel, where: string): void {
  const fail = (why: string, code: 'E_SAE' | 'E_NONFINITE' = 'E_SAE') => new UserError(`${where}: ${why}.`, code);
  if (!(Number.isInteger(m.dIn) && m.dIn > 0 && Number.isInteger(m.dSae) && m.dSae > 0)) throw fail(`d_in ${m.dIn} and d_sae ${m.dSae} must be positive integers`);
  for (const [name, t] of Object.entries(saeTensors(m))) {
    const want = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== want) throw fail(`${name} has ${t.data.length} values, not [${t.shape.join(', ')}] = ${want}`);
    const bad = firstNonFinite(t.data);
    if (bad) throw fail(`${name} holds ${bad.value} at flat index ${bad.index}; the weights are corrupt — download or export them again`, 'E_NONFINITE');
  }
  const a = m.activation;
  if (a.kind === 'topk' && !(Number.isInteger(a.k) && a.k >= 1 && a.k <= m.dSae)) throw fail(`k is ${a.k}; a top-k SAE needs an integer k from 1 to d_sae = ${m.dSae}`);
  const n = m.normalization;
  if (n.kind === 'expected_average_only_in' && !(Number.isFinite(n.scalingFactor) && n.scalingFactor > 0)) {
    throw fail(`the scaling factor of expected_average_only_in is ${n.scalingFactor}; it must be a positive number`);
  }
}

/** Per-token normalisation of x [T, d_in] (see the module comment): the encoder's input and what decoding needs. */
export interface NormalizedInput {
  /** (x − μ)·s_in − b_dec·[apply_b_dec_to_input], [T, d_in]: what W_enc multiplies. */
  input: Float32Array;
  /** μ and s_out per token, [T] each: x̂ = (z·W_dec + b_dec)·s_out + μ. */
  mu: Float32Array;
  sOut: Float32Array;
}

export function normalizeInput(m: SaeDecoding, x: Float32Array, T: number): NormalizedInput {
  const d = m.dIn;
  const n = m.normalization;
  const input = new Float32Array(T * d);
  const mu = new Float32Array(T);
  const sOut = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const row = x.subarray(t * d, (t + 1) * d);
    let mean = 0;
    let sIn = 1;
    if (n.kind === 'layer_norm') {
      for (let i = 0; i < d; i++) mean += row[i];
      mean /= d;
      let ss = 0;
      for (let i = 0; i < d; i++) ss += (row[i] - mean) ** 2;
      const sigma = Math.sqrt(ss / (d - 1));
      sIn = 1 / (sigma + LAYER_NORM_EPS);
      sOut[t] = sigma;
    } else if (n.kind === 'constant_norm_rescale') {
      let ss = 0;
      for (let i = 0; i < d; i++) ss += row[i] * row[i];
      sIn = Math.sqrt(d) / Math.sqrt(ss);
      sOut[t] = 1 / sIn;
    } else {
      sIn = n.kind === 'expected_average_only_in' ? n.scalingFactor : 1;
      sOut[t] = 1 / sIn;
    }
    mu[t] = mean;
    const out = input.subarray(t * d, (t + 1) * d);
    for (let i = 0; i < d; i++) out[i] = (row[i] - mean) * sIn - (m.applyBDecToInput ? m.bDec[i] : 0);
  }
  return { input, mu, sOut };
}

/**
 * Writes x̂_t = (b_dec + Σ_j z_tj·W_dec[j])·s_out,t + μ_t for tokens [from, to) into `out`
 * [to − from, d_in]; `norm` holds μ and s_out of those tokens, [to − from] each.
 */
export function reconstruct(m: SaeDecoding, codes: SparseCodes, norm: Pick<NormalizedInput, 'mu' | 'sOut'>, from: number, to: number, out: Float32Array): void {
  const { dIn: d, wDec, bDec } = m;
  const { rowPtr, index, value } = codes;
  for (let t = from; t < to; t++) {
    const o = (t - from) * d;
    out.set(bDec, o);
    for (let e = rowPtr[t]; e < rowPtr[t + 1]; e++) {
      const z = value[e];
      const base = index[e] * d;
      for (let i = 0; i < d; i++) out[o + i] += z * wDec[base + i];
    }
    const s = norm.sOut[t - from];
    const mu = norm.mu[t - from];
    for (let i = 0; i < d; i++) out[o + i] = out[o + i] * s + mu;
  }
}

/** Whether W_dec = W_encᵀ exactly and both biases are zero. */
export function isTied(m: Pick<SaeModel, 'dIn' | 'dSae' | 'wEnc' | 'wDec' | 'bEnc' | 'bDec'>): boolean {
  if (m.bEnc.some((v) => v !== 0) || m.bDec.some((v) => v !== 0)) return false;
  for (let i = 0; i < m.dIn; i++) for (let j = 0; j < m.dSae; j++) if (m.wEnc[i * m.dSae + j] !== m.wDec[j * m.dIn + i]) return false;
  return true;
}

/**
 * The same SAE with an expected_average_only_in scaling factor c folded into its weights, as SAELens
 * folds it: W_enc·c, W_dec/c, b_dec/c and no normalisation (encode and decode are unchanged). Other
 * models are returned as they are.
 */
export function foldScalingFactor(m: SaeModel): SaeModel {
  const n = m.normalization;
  if (n.kind !== 'expected_average_only_in') return m;
  const c = n.scalingFactor;
  return { ...m, wEnc: m.wEnc.map((v) => v * c), wDec: m.wDec.map((v) => v / c), bDec: m.bDec.map((v) => v / c), normalization: { kind: 'none' } };
}
