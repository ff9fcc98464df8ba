import * as ort from 'onnxruntime-node';
import type { Hook } from '../hooks';
import { buildLogitEffectGraph, LOGIT_EFFECTS } from '../model/gpt2Suffix';
import type { Gpt2Model } from '../model/load';
import { gpt2Session, type SessionOptions } from '../model/sessions';
import { decodeToken, GPT2_VOCAB_SIZE } from '../tokenizer';
import type { LogitEffects, LogitToken, SaeDecoder } from './types';

/** Tokens listed on each side. */
export const LOGIT_TOKENS = 10;

/** Why a hook's latents have no direct logit effect, or undefined when they have one. */
export function noLogitPath(hook: Hook): string | undefined {
  if (hook.kind !== 'mlp.hook_pre') return undefined;
  return `${hook.name} is the MLP's input to GELU: a latent's direction there reaches the residual stream only through the non-linear GELU, so it has no linear path to the logits and no direct logit effect.`;
}

/**
 * The direct logit effects of `latents` (see buildLogitEffectGraph): the LOGIT_TOKENS most promoted
 * tokens (largest first) and most suppressed (most negative first), with their logit values.
 */
export async function logitEffects(model: Gpt2Model, hook: Hook, decoder: SaeDecoder, latents: number[], opts: SessionOptions = {}): Promise<LogitEffects[]> {
  const omitted = noLogitPath(hook);
  if (omitted) return latents.map(() => ({ omitted }));
  if (latents.length === 0) return [];
  const K = Math.min(LOGIT_TOKENS, model.config.vocabSize);
  const { session } = await gpt2Session(model, JSON.stringify(['logit-effects', hook.name, K]), () => buildLogitEffectGraph(model, hook, K), opts);
  const w = decoder.dIn;
  const rows = new Float32Array(latents.length * w);
  latents.forEach((l, i) => rows.set(decoder.wDec.subarray(l * w, (l + 1) * w), i * w));
  const out = await session.run({ [LOGIT_EFFECTS.directions]: new ort.Tensor('float32', rows, [latents.length, w]) });
  const side = (values: string, ids: string, i: number): LogitToken[] =>
    Array.from({ length: K }, (_, r) => {
      const id = Number((out[ids].data as BigInt64Array)[i * K + r]);
      return { id, token: id < GPT2_VOCAB_SIZE ? decodeToken(id) : null, value: (out[values].data as Float32Array)[i * K + r] };
    });
  return latents.map((_, i) => ({ top: side(LOGIT_EFFECTS.topValues, LOGIT_EFFECTS.topIds, i), bottom: side(LOGIT_EFFECTS.bottomValues, LOGIT_EFFECTS.bottomIds, i) }));
}
