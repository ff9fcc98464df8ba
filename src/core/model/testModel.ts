import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { Rng } from '../rng';
import { neededTensors, WEIGHTS_FILE } from './load';

export interface TestModelOptions {
  out: string;
  layers: number;
  dModel: number;
  heads: number;
  seed: number;
  /** Default 50257, GPT-2's real vocabulary, so the real tokenizer's ids are valid. */
  vocab?: number;
  /** Context length; default 1024. */
  positions?: number;
  /** Write names as "transformer.wte.weight" etc. instead of "wte.weight". */
  prefix?: boolean;
}

/** Fills `out` with the values at flat indices [start, start + out.length) of a tensor. */
type Fill = (out: Float32Array, start: number) => void;

interface Planned {
  name: string;
  shape: number[];
  fill: Fill;
}

const CHUNK_FLOATS = 1 << 20;

function plan(o: Required<Omit<TestModelOptions, 'out' | 'prefix'>>, rng: Rng): Planned[] {
  // Box–Muller keeping both outputs of each pair: half the cost per value of Rng.normal(), which
  // matters for the ~124M values of GPT-2 small.
  const normal = (std: number, mean = 0): Fill => (out) => {
    for (let i = 0; i < out.length; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(1 - rng.uniform()));
      const a = 2 * Math.PI * rng.uniform();
      out[i] = mean + r * Math.cos(a);
      if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(a);
    }
  };
  const P = o.positions;
  // The causal-mask buffer HF stores as h.{i}.attn.bias [1, 1, P, P]: loaders must ignore it.
  const causal: Fill = (out, start) => {
    for (let i = 0; i < out.length; i++) {
      const k = start + i;
      out[i] = k % P <= Math.floor(k / P) % P ? 1 : 0;
    }
  };
  const config = { nLayer: o.layers, nHead: o.heads, nEmbd: o.dModel, nPositions: P, vocabSize: o.vocab, layerNormEpsilon: 1e-5, activation: 'gelu_new' };
  const out: Planned[] = [];
  for (const t of neededTensors(config)) {
    const isLn = /(^|\.)ln_(1|2|f)\.weight$/.test(t.name);
    const fill = isLn ? normal(0.1, 1) : normal(0.02);
    out.push({ ...t, fill });
    if (t.name.endsWith('.ln_1.bias')) out.push({ name: t.name.replace('ln_1.bias', 'attn.bias'), shape: [1, 1, P, P], fill: causal });
  }
  return out;
}

function check(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new UserError(`--${name} must be an integer ≥ ${min}, got ${v}.`, 'E_USAGE');
}

/**
 * Writes a GPT-2 with seeded random weights in the Hugging Face layout: config.json (real GPT-2
 * field names plus `"latent_lens": {"random_weights": true, "seed": N}`) and model.safetensors.
 * Weights are generated in 4 MB chunks straight to disk, so even GPT-2-small shapes (~500 MB) need
 * only a few MB of memory.
 */
export function makeTestModel(opts: TestModelOptions): void {
  const o = { layers: opts.layers, dModel: opts.dModel, heads: opts.heads, seed: opts.seed, vocab: opts.vocab ?? 50257, positions: opts.positions ?? 1024 };
  check('layers', o.layers, 1);
  check('d-model', o.dModel, 1);
  check('heads', o.heads, 1);
  check('seed', o.seed, 0);
  check('vocab', o.vocab, 1);
  check('positions', o.positions, 1);
  if (o.dModel % o.heads !== 0) throw new UserError(`--d-model ${o.dModel} must be divisible by --heads ${o.heads}.`, 'E_USAGE');
  const prefix = opts.prefix ? 'transformer.' : '';
  const tensors = plan(o, new Rng(o.seed));

  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, d) => a * d, 1) * 4;
    header[prefix + t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));

  fs.mkdirSync(opts.out, { recursive: true });
  const config = {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    bos_token_id: 50256,
    eos_token_id: 50256,
    initializer_range: 0.02,
    layer_norm_epsilon: 1e-5,
    model_type: 'gpt2',
    n_ctx: o.positions,
    n_embd: o.dModel,
    n_head: o.heads,
    n_layer: o.layers,
    n_positions: o.positions,
    vocab_size: o.vocab,
    latent_lens: { random_weights: true, seed: o.seed },
  };
  fs.writeFileSync(path.join(opts.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  // Written under a temporary name so an interrupted run never leaves a plausible-looking file.
  const final = path.join(opts.out, WEIGHTS_FILE);
  const part = `${final}.part`;
  const fd = fs.openSync(part, 'w');
  try {
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    const chunk = new Float32Array(CHUNK_FLOATS);
    const chunkBytes = new Uint8Array(chunk.buffer);
    for (const t of tensors) {
      const n = t.shape.reduce((a, d) => a * d, 1);
      for (let start = 0; start < n; start += CHUNK_FLOATS) {
        const m = Math.min(CHUNK_FLOATS, n - start);
        const view = chunk.subarray(0, m);
        t.fill(view, start);
        fs.writeSync(fd, chunkBytes, 0, m * 4);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(part, final);
}
