import { readSafetensors } from '../../../src/core/safetensors';
import { HOOK_KINDS, hookName } from '../../../src/core/hooks';
import type { Gpt2Model } from '../../../src/core/model/load';

/**
 * A deliberately naive GPT-2 forward pass for checking the ONNX graph: plain loops, float64,
 * weights read straight from model.safetensors, positions 0..T-1. Returns every hook of layers
 * 0..lastLayer as Float64Array [T, width], keyed by TransformerLens name.
 */
export function naiveGpt2(model: Gpt2Model, ids: number[], lastLayer: number): Map<string, Float64Array> {
  const { nEmbd: d, nHead: H, layerNormEpsilon: eps } = model.config;
  const dh = d / H;
  const T = ids.length;
  const { tensors } = readSafetensors(model.weightsPath);
  const W = (name: string): Float64Array => {
    const t = tensors.get(model.prefix + name);
    if (!t) throw new Error(`missing ${name}`);
    return Float64Array.from(t.data as Float32Array);
  };
  const out = new Map<string, Float64Array>();

  // y[t, o] = b[o] + Σ_i x[t, i] · w[i, o]   (HF Conv1D: w is [in, out])
  const linear = (x: Float64Array, nIn: number, nOut: number, prefix: string): Float64Array => {
    const w = W(`${prefix}.weight`);
    const b = W(`${prefix}.bias`);
    const y = new Float64Array(T * nOut);
    for (let t = 0; t < T; t++) {
      for (let o = 0; o < nOut; o++) {
        let s = b[o];
        for (let i = 0; i < nIn; i++) s += x[t * nIn + i] * w[i * nOut + o];
        y[t * nOut + o] = s;
      }
    }
    return y;
  };
  const layerNorm = (x: Float64Array, prefix: string): Float64Array => {
    const g = W(`${prefix}.weight`);
    const b = W(`${prefix}.bias`);
    const y = new Float64Array(T * d);
    for (let t = 0; t < T; t++) {
      let mean = 0;
      for (let j = 0; j < d; j++) mean += x[t * d + j];
      mean /= d;
      let variance = 0;
      for (let j = 0; j < d; j++) variance += (x[t * d + j] - mean) ** 2;
      variance /= d;
      for (let j = 0; j < d; j++) y[t * d + j] = ((x[t * d + j] - mean) / Math.sqrt(variance + eps)) * g[j] + b[j];
    }
    return y;
  };

  const wte = W('wte.weight');
  const wpe = W('wpe.weight');
  let x = new Float64Array(T * d);
  for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) x[t * d + j] = wte[ids[t] * d + j] + wpe[t * d + j];

  for (let L = 0; L <= lastLayer; L++) {
    const h = `h.${L}`;
    const save = (kind: (typeof HOOK_KINDS)[number], v: Float64Array) => out.set(hookName(L, kind), v);
    save('hook_resid_pre', x);
    const qkv = linear(layerNorm(x, `${h}.ln_1`), d, 3 * d, `${h}.attn.c_attn`); // [T, 3d]: q | k | v
    const ctx = new Float64Array(T * d);
    for (let head = 0; head < H; head++) {
      for (let t = 0; t < T; t++) {
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let j = 0; j < dh; j++) dot += qkv[t * 3 * d + head * dh + j] * qkv[s * 3 * d + d + head * dh + j];
          scores.push(dot / Math.sqrt(dh));
        }
        const max = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - max));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < dh; j++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) acc += (e[s] / sum) * qkv[s * 3 * d + 2 * d + head * dh + j];
          ctx[t * d + head * dh + j] = acc;
        }
      }
    }
    const attn = linear(ctx, d, d, `${h}.attn.c_proj`);
    const mid = x.map((v, i) => v + attn[i]);
    const pre = linear(layerNorm(mid, `${h}.ln_2`), d, 4 * d, `${h}.mlp.c_fc`);
    save('mlp.hook_pre', pre);
    const post = pre.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    save('mlp.hook_post', post);
    const mlpOut = linear(post, 4 * d, d, `${h}.mlp.c_proj`);
    save('hook_mlp_out', mlpOut);
    x = mid.map((v, i) => v + mlpOut[i]);
    save('hook_resid_post', x);
  }
  return out;
}
