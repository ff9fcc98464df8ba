import { readSafetensors } from '../../../src/core/safetensors';
import { HOOK_KINDS, hookName } from '../../../src/core/hooks';
import type { Gpt2Model } from '../../../src/core/model/load';

/**
 * A deliberately naive GPT-2 forward pass for checking the ONNX graph: plain loops, float64,
 * weights read straight from model.safetensors, positions 0..T-1. Returns every hook of layers
 * 0..lastLayer as Float64Array [T, width], keyed by TransformerLens name. A hook named in
 * `replace` takes the given value [T, width] instead of its own, and everything after it is
 * computed from that.
 */
export function naiveGpt2(model: Gpt2Model, ids: number[], lastLayer: number, replace = new Map<string, Float64Array>()): Map<string, Float64Array> {
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
  let x: Float64Array = new Float64Array(T * d);
  for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) x[t * d + j] = wte[ids[t] * d + j] + wpe[t * d + j];

  for (let L = 0; L <= lastLayer; L++) {
    const h = `h.${L}`;
    const save = (kind: (typeof HOOK_KINDS)[number], v: Float64Array): Float64Array => {
      const name = hookName(L, kind);
      const value = replace.get(name) ?? v;
      out.set(name, value);
      return value;
    };
    x = save('hook_resid_pre', x);
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
    const attn = save('hook_attn_out', linear(ctx, d, d, `${h}.attn.c_proj`));
    const mid = save('hook_resid_mid', x.map((v, i) => v + attn[i]));
    const pre = save('mlp.hook_pre', linear(layerNorm(mid, `${h}.ln_2`), d, 4 * d, `${h}.mlp.c_fc`));
    const post = save('mlp.hook_post', pre.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))));
    const mlpOut = save('hook_mlp_out', linear(post, 4 * d, d, `${h}.mlp.c_proj`));
    x = save('hook_resid_post', mid.map((v, i) => v + mlpOut[i]));
  }
  if (lastLayer === model.config.nLayer - 1) out.set(FINAL, layerNorm(x, 'ln_f'));
  return out;
}

/** Key of ln_f(resid_post of the last block) [T, d] in naiveGpt2's result when it ran every block. */
const FINAL = 'ln_f';

/**
 * The loss of the naive forward pass (with `replace` as in naiveGpt2): for t = 0..T−2,
 * −log softmax(ln_f(x_t)·wteᵀ)[ids[t+1]], in float64.
 */
export function naiveNll(model: Gpt2Model, ids: number[], replace?: Map<string, Float64Array>): Float64Array {
  const { nEmbd: d, vocabSize: V } = model.config;
  const final = naiveGpt2(model, ids, model.config.nLayer - 1, replace).get(FINAL)!;
  const wte = naiveLogitMatrix(model);
  const nll = new Float64Array(ids.length - 1);
  const logits = new Float64Array(V);
  for (let t = 0; t + 1 < ids.length; t++) {
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += final[t * d + j] * wte[v * d + j];
      logits[v] = s;
    }
    const max = logits.reduce((a, b) => Math.max(a, b), -Infinity);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[v] - max);
    nll[t] = max + Math.log(sum) - logits[ids[t + 1]];
  }
  return nll;
}

/** wte [V, d] in float64: the tied unembedding's rows. */
export function naiveLogitMatrix(model: Gpt2Model): Float64Array {
  return Float64Array.from(readSafetensors(model.weightsPath, [model.prefix + 'wte.weight']).tensors.get(model.prefix + 'wte.weight')!.data as Float32Array);
}
