import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { readHeader, type SafetensorsHeader, type TensorEntry } from '../safetensors';
import { readConfig, type Gpt2Config } from './config';

/** A validated GPT-2 model directory: every tensor the forward pass needs is present, F32 and of the right shape. */
export interface Gpt2Model {
  dir: string;
  config: Gpt2Config;
  weightsPath: string;
  header: SafetensorsHeader;
  /** Prefix of every tensor name in the file. */
  prefix: '' | 'transformer.';
  /** What to call the model in everything printed, e.g. "gpt2" or "random test model (seed 0) — RANDOM WEIGHTS". */
  label: string;
  randomWeights: boolean;
}

export const WEIGHTS_FILE = 'model.safetensors';
const STAMP_FILE = '.latent-lens-finite.json';

/** Names (without prefix) and shapes of the tensors GPT-2's forward pass reads, in checkpoint order. */
export function neededTensors(c: Gpt2Config): { name: string; shape: number[] }[] {
  const D = c.nEmbd;
  const out = [
    { name: 'wte.weight', shape: [c.vocabSize, D] },
    { name: 'wpe.weight', shape: [c.nPositions, D] },
  ];
  for (let i = 0; i < c.nLayer; i++) {
    const h = `h.${i}.`;
    out.push(
      { name: `${h}ln_1.weight`, shape: [D] },
      { name: `${h}ln_1.bias`, shape: [D] },
      { name: `${h}attn.c_attn.weight`, shape: [D, 3 * D] },
      { name: `${h}attn.c_attn.bias`, shape: [3 * D] },
      { name: `${h}attn.c_proj.weight`, shape: [D, D] },
      { name: `${h}attn.c_proj.bias`, shape: [D] },
      { name: `${h}ln_2.weight`, shape: [D] },
      { name: `${h}ln_2.bias`, shape: [D] },
      { name: `${h}mlp.c_fc.weight`, shape: [D, 4 * D] },
      { name: `${h}mlp.c_fc.bias`, shape: [4 * D] },
      { name: `${h}mlp.c_proj.weight`, shape: [4 * D, D] },
      { name: `${h}mlp.c_proj.bias`, shape: [D] },
    );
  }
  out.push({ name: 'ln_f.weight', shape: [D] }, { name: 'ln_f.bias', shape: [D] });
  return out;
}

/** OpenAI's released sizes, by [n_layer, n_embd]. */
const KNOWN_SIZES: [number, number, string][] = [
  [12, 768, 'gpt2'],
  [24, 1024, 'gpt2-medium'],
  [36, 1280, 'gpt2-large'],
  [48, 1600, 'gpt2-xl'],
];

function labelFor(dir: string, c: Gpt2Config, randomWeights: boolean, seed: number | undefined): string {
  if (randomWeights) return `random test model (${seed === undefined ? 'unknown seed' : `seed ${seed}`}) — RANDOM WEIGHTS`;
  const known = KNOWN_SIZES.find(([l, d]) => l === c.nLayer && d === c.nEmbd && c.vocabSize === 50257);
  return known ? known[2] : `GPT-2-style model ${path.basename(path.resolve(dir))} (${c.nLayer} layers, d=${c.nEmbd})`;
}

const shapeStr = (s: number[]) => `[${s.join(', ')}]`;

/**
 * Opens a Hugging Face GPT-2 directory (config.json + model.safetensors) and checks every tensor the
 * forward pass needs against the config. Tensor data is not read (see checkFinite).
 */
export function loadModel(dir: string): Gpt2Model {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UserError(`model directory ${dir} does not exist. Give a directory holding config.json and model.safetensors of a GPT-2 model, or omit --model to download GPT-2.`, 'E_MODEL');
  }
  const { config, randomWeights, seed } = readConfig(dir);
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(weightsPath)) {
    const bin = fs.existsSync(path.join(dir, 'pytorch_model.bin')) ? ' (pytorch_model.bin is not supported: Latent Lens reads safetensors only)' : '';
    throw new UserError(`${dir} has no ${WEIGHTS_FILE}${bin}. Copy model.safetensors from the model's Hugging Face repository (e.g. openai-community/gpt2) next to config.json.`, 'E_MODEL');
  }
  let header: SafetensorsHeader;
  try {
    header = readHeader(weightsPath);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read ${weightsPath} (${(e as Error).message}); it must be a readable model.safetensors file.`, 'E_MODEL');
  }
  const prefix = header.tensors.has('transformer.wte.weight') ? 'transformer.' : '';
  const c = `n_layer=${config.nLayer}, n_embd=${config.nEmbd}, n_positions=${config.nPositions}, vocab_size=${config.vocabSize}`;
  for (const { name, shape } of neededTensors(config)) {
    const full = prefix + name;
    const e = header.tensors.get(full);
    if (!e) {
      throw new UserError(
        `${weightsPath} has no tensor "${full}", which GPT-2 with ${c} (from config.json) needs. The file is incomplete or belongs to a different model; use the config.json and model.safetensors of the same GPT-2 checkpoint.`,
        'E_MODEL',
      );
    }
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      throw new UserError(
        `tensor "${full}" in ${weightsPath} has shape ${shapeStr(e.shape)}, but config.json (${c}) implies ${shapeStr(shape)}. config.json and model.safetensors do not belong together; use both files from the same checkpoint.`,
        'E_MODEL',
      );
    }
    if (e.dtype !== 'F32') {
      throw new UserError(
        `tensor "${full}" in ${weightsPath} is ${e.dtype}; Latent Lens needs float32 (F32) weights, as in openai-community/gpt2's model.safetensors. Convert the checkpoint to float32 or use the original release.`,
        'E_MODEL',
      );
    }
  }
  return { dir, config, weightsPath, header, prefix, label: labelFor(dir, config, randomWeights, seed), randomWeights };
}

/** The header entry (absolute byte range in weightsPath) of a tensor named without the prefix, e.g. "h.0.ln_1.weight". */
export function tensor(model: Gpt2Model, name: string): TensorEntry {
  const e = model.header.tensors.get(model.prefix + name);
  if (!e) throw new Error(`tensor "${model.prefix + name}" is not in ${model.weightsPath}`);
  return e;
}

interface FiniteStamp {
  size: number;
  mtimeMs: number;
}

function stampMatches(stampPath: string, st: fs.Stats): boolean {
  try {
    const s = JSON.parse(fs.readFileSync(stampPath, 'utf8')) as FiniteStamp;
    return s.size === st.size && s.mtimeMs === st.mtimeMs;
  } catch {
    return false;
  }
}

const CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Scans every needed tensor for NaN or ±Inf (exponent bits all ones), reading the file in 16 MB chunks.
 * A clean result is remembered in a stamp file next to the weights, keyed by the file's size and
 * mtime, so later loads of the unchanged file skip the scan; a read-only model dir is simply re-scanned.
 */
export function checkFinite(model: Gpt2Model): void {
  const stampPath = path.join(model.dir, STAMP_FILE);
  const st = fs.statSync(model.weightsPath);
  if (stampMatches(stampPath, st)) return;
  const entries = neededTensors(model.config)
    .map(({ name }) => ({ name: model.prefix + name, e: tensor(model, name) }))
    .sort((a, b) => a.e.begin - b.e.begin);
  const buf = new ArrayBuffer(CHUNK_BYTES);
  const bytes = new Uint8Array(buf);
  const words = new Uint32Array(buf);
  const fd = fs.openSync(model.weightsPath, 'r');
  try {
    for (const { name, e } of entries) {
      for (let pos = e.begin; pos < e.end; ) {
        const n = Math.min(CHUNK_BYTES, e.end - pos);
        const got = fs.readSync(fd, bytes, 0, n, pos);
        if (got !== n) {
          throw new UserError(`${model.weightsPath} is cut short inside tensor "${name}" (file changed while reading?). Replace it with a complete copy.`, 'E_MODEL');
        }
        const count = n >>> 2;
        for (let i = 0; i < count; i++) {
          if ((words[i] & 0x7f800000) === 0x7f800000) {
            const index = (pos - e.begin) / 4 + i;
            const value = new Float32Array(buf, i * 4, 1)[0];
            throw new UserError(
              `tensor "${name}" in ${model.weightsPath} contains ${value} at flat index ${index}; the weights are corrupt. Replace model.safetensors with a good copy (delete it to re-download).`,
              'E_MODEL',
            );
          }
        }
        pos += n;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.writeFileSync(stampPath, JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs } satisfies FiniteStamp));
  } catch {
    // read-only model directory: scan again next time
  }
}
