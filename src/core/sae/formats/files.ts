/** Reading an SAE folder's cfg.json and weights strictly, every problem a UserError naming the file and tensor. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { readSafetensors } from '../../safetensors';
import type { SaeModel } from '../model';

/** An SAE read from a folder. */
export interface LoadedSae {
  model: SaeModel;
  /** Assumptions made while reading, for the user to see. */
  notes: string[];
}

export function saeError(file: string, why: string): UserError {
  return new UserError(`${file}: ${why}.`, 'E_SAE');
}

/** cfg.json of an SAE folder as a JSON object. */
export function readCfgJson(dir: string): Record<string, unknown> {
  const file = path.join(dir, 'cfg.json');
  if (!fs.existsSync(file)) throw new UserError(`${dir} has no cfg.json: an SAE folder holds cfg.json and its weights (SAELens: sae_weights.safetensors; sparsify: sae.safetensors).`, 'E_SAE');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw saeError(file, `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw saeError(file, 'is not a JSON object');
  return json as Record<string, unknown>;
}

export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * Reads exactly the tensors `want` (name → shape) from `file`, widened to float32. A missing tensor,
 * one more than `want` names (except those in `drop`, which are read and returned apart), a shape
 * that disagrees with cfg.json, or a non-float dtype is an error naming the tensor — the libraries'
 * loaders are as strict.
 */
export function readWeights(file: string, want: Record<string, number[]>, drop: string[] = []): { tensors: Record<string, Float32Array>; dropped: Record<string, Float32Array> } {
  if (!fs.existsSync(file)) throw new UserError(`${file} is missing: the SAE's weights file must sit beside its cfg.json.`, 'E_SAE');
  const { tensors } = readSafetensors(file);
  const out: Record<string, Float32Array> = {};
  const dropped: Record<string, Float32Array> = {};
  for (const [name, t] of tensors) {
    const shape = want[name];
    if (shape === undefined && !drop.includes(name)) throw saeError(file, `has a tensor "${name}" that this architecture does not have (it expects ${Object.keys(want).join(', ')})`);
    if (!['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) throw saeError(file, `has tensor "${name}" as ${t.dtype}; SAE weights are floating point`);
    if (shape && (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))) {
      throw saeError(file, `has tensor "${name}" of shape [${t.shape.join(', ')}], but cfg.json implies [${shape.join(', ')}]`);
    }
    (shape ? out : dropped)[name] = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array);
  }
  const missing = Object.keys(want).filter((n) => !(n in out));
  if (missing.length) throw saeError(file, `has no tensor ${missing.map((n) => `"${n}"`).join(', ')} (it has ${[...tensors.keys()].join(', ') || 'none'})`);
  return { tensors: out, dropped };
}
