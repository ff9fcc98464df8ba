import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';

/** The shape-defining fields of a Hugging Face GPT-2 config.json. */
export interface Gpt2Config {
  nLayer: number;
  nHead: number;
  /** Residual width d. */
  nEmbd: number;
  /** Context length (n_positions, or n_ctx in older configs). */
  nPositions: number;
  vocabSize: number;
  layerNormEpsilon: number;
  /** HF activation_function, e.g. "gelu_new". */
  activation: string;
}

/** config.json with the Latent Lens extras that generated test models carry. */
export interface ModelConfigFile {
  config: Gpt2Config;
  /** true for models written by make-test-model (`"latent_lens": {"random_weights": true, "seed": N}`). */
  randomWeights: boolean;
  seed?: number;
  /** `_name_or_path` when the file has one. */
  nameOrPath?: string;
}

function positiveInt(file: string, json: Record<string, unknown>, keys: string[]): number {
  const key = keys.find((k) => json[k] !== undefined);
  const v = key === undefined ? undefined : json[key];
  if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) {
    const what = v === undefined ? 'is missing' : `is ${JSON.stringify(v)}`;
    throw new UserError(`${file}: ${keys.map((k) => `"${k}"`).join(' (or ')}${keys.length > 1 ? ')' : ''} ${what}; a GPT-2 config.json needs it as a positive integer. Use the config.json that came with the model.`, 'E_MODEL');
  }
  return v;
}

/** Validates a parsed config.json; `file` names it in errors. */
export function parseConfig(json: unknown, file: string): ModelConfigFile {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UserError(`${file} is not a JSON object; use the config.json that came with the model.`, 'E_MODEL');
  }
  const j = json as Record<string, unknown>;
  if (j.model_type !== undefined && j.model_type !== 'gpt2') {
    throw new UserError(`${file} describes a "${String(j.model_type)}" model; Latent Lens runs GPT-2 models only (model_type "gpt2").`, 'E_MODEL');
  }
  const config: Gpt2Config = {
    nLayer: positiveInt(file, j, ['n_layer']),
    nHead: positiveInt(file, j, ['n_head']),
    nEmbd: positiveInt(file, j, ['n_embd']),
    nPositions: positiveInt(file, j, ['n_positions', 'n_ctx']),
    vocabSize: positiveInt(file, j, ['vocab_size']),
    layerNormEpsilon: j.layer_norm_epsilon === undefined ? 1e-5 : (j.layer_norm_epsilon as number),
    activation: j.activation_function === undefined ? 'gelu_new' : (j.activation_function as string),
  };
  if (!(typeof config.layerNormEpsilon === 'number' && config.layerNormEpsilon > 0 && Number.isFinite(config.layerNormEpsilon))) {
    throw new UserError(`${file}: "layer_norm_epsilon" is ${JSON.stringify(j.layer_norm_epsilon)}; it must be a small positive number (GPT-2 uses 1e-5).`, 'E_MODEL');
  }
  if (typeof config.activation !== 'string') {
    throw new UserError(`${file}: "activation_function" is ${JSON.stringify(j.activation_function)}; it must be a name such as "gelu_new".`, 'E_MODEL');
  }
  if (config.nEmbd % config.nHead !== 0) {
    throw new UserError(`${file}: n_embd ${config.nEmbd} is not divisible by n_head ${config.nHead}; the config is inconsistent.`, 'E_MODEL');
  }
  const ll = j.latent_lens as { random_weights?: unknown; seed?: unknown } | undefined;
  return {
    config,
    randomWeights: ll?.random_weights === true,
    seed: typeof ll?.seed === 'number' ? ll.seed : undefined,
    nameOrPath: typeof j._name_or_path === 'string' ? j._name_or_path : undefined,
  };
}

/** Reads and validates `<dir>/config.json`. */
export function readConfig(dir: string): ModelConfigFile {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(
        `${dir} has no config.json. A model directory holds config.json and model.safetensors from a Hugging Face GPT-2 repository (e.g. openai-community/gpt2); copy both there, or omit --model to download GPT-2.`,
        'E_MODEL',
      );
    }
    throw new UserError(`cannot read ${file}: ${(e as Error).message}.`, 'E_MODEL');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); use the config.json that came with the model.`, 'E_MODEL');
  }
  return parseConfig(json, file);
}
