import * as fs from 'node:fs';
import { UserError } from './errors';
import { readSafetensors } from './safetensors';
import type { Token } from './tokenizer';

/**
 * Saved activations as `latent-lens extract --out X.safetensors` writes them: tensors
 * `activations` F32 [T, d] and `token_ids` I64 [T]; metadata `tokens` (JSON Token[]), `hook`,
 * `layer`, `model`, `random_weights` ("true"/"false").
 */
export interface ActivationsFile {
  path: string;
  acts: Float32Array; // [T, d]
  T: number;
  d: number;
  tokens: Token[];
  /** Hook name recorded by extract, e.g. "blocks.6.hook_mlp_out" (undefined when absent). */
  hook?: string;
  /** Model label recorded by extract. */
  model?: string;
  randomWeights: boolean;
}

function invalid(file: string, why: string): UserError {
  return new UserError(`${file}: ${why}. Write activations with \`latent-lens extract FILE --out X.safetensors\`.`, 'E_ACTIVATIONS');
}

export function readActivationsFile(file: string): ActivationsFile {
  if (!fs.existsSync(file)) throw new UserError(`activations file ${file} does not exist; write one with \`latent-lens extract FILE --out X.safetensors\`.`, 'E_ACTIVATIONS');
  const { header, tensors } = readSafetensors(file, ['activations', 'token_ids']);
  const a = tensors.get('activations')!;
  const ids = tensors.get('token_ids')!;
  if (a.dtype !== 'F32' || a.shape.length !== 2) throw invalid(file, `"activations" is ${a.dtype} [${a.shape.join(', ')}], expected F32 [T, d]`);
  const [T, d] = a.shape;
  if (ids.shape.length !== 1 || ids.shape[0] !== T) throw invalid(file, `"token_ids" has shape [${ids.shape.join(', ')}], expected [${T}] (one per activation row)`);
  const meta = header.metadata;
  if (meta.tokens === undefined) throw invalid(file, 'it has no "tokens" metadata (the text of each token)');
  let tokens: Token[];
  try {
    tokens = JSON.parse(meta.tokens) as Token[];
  } catch (e) {
    throw invalid(file, `its "tokens" metadata is not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(tokens) || tokens.length !== T) throw invalid(file, `its "tokens" metadata lists ${Array.isArray(tokens) ? tokens.length : 'no'} tokens for ${T} activation rows`);
  return { path: file, acts: a.data as Float32Array, T, d, tokens, hook: meta.hook, model: meta.model, randomWeights: meta.random_weights === 'true' };
}
