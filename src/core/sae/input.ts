/** What an SAE reads for each token of a document: the activations it was trained on, made the same way. */
import { planWindows, windowRunner, type ExtractOptions, type Provider, type Window } from '../extract';
import type { Hook, HookKind } from '../hooks';
import type { Gpt2Model } from '../model/load';
import { END_OF_TEXT_ID, type Token } from '../tokenizer';
import type { SaeSite } from './model';

/**
 * Hooks whose TransformerLens value under center_writing_weights is the raw value minus its mean
 * over d_model: every weight writing to the residual stream is centred, so the stream and the
 * attention and MLP outputs are; the MLP's hidden hooks are not (LayerNorm has removed the mean).
 */
const CENTRED_KINDS: readonly HookKind[] = ['hook_resid_pre', 'hook_attn_out', 'hook_resid_mid', 'hook_mlp_out', 'hook_resid_post'];

const BOS: Token = { id: END_OF_TEXT_ID, text: '<|endoftext|>', start: 0, end: 0 };

/** What runs before every window for this SAE: [BOS] when it was trained with prepend_bos. */
export function saeLead(site: Pick<SaeSite, 'prependBos'>): Token[] {
  return site.prependBos ? [BOS] : [];
}

/** The windows of a document of T tokens for this SAE: planWindows with the context its lead leaves. */
export function saeWindows(T: number, model: Gpt2Model, site: Pick<SaeSite, 'prependBos'>): Window[] {
  return planWindows(T, model.config.nPositions - saeLead(site).length);
}

/**
 * The SAE's view of raw rows x [n, width] of `hook`: each row minus its mean over the width when the
 * SAE saw TransformerLens's centred model and the hook is one centring changes; else x itself.
 */
export function saeView(site: Pick<SaeSite, 'centred'>, hook: Hook, x: Float32Array): Float32Array {
  if (!site.centred || !CENTRED_KINDS.includes(hook.kind)) return x;
  const w = hook.width;
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += w) {
    let mean = 0;
    for (let i = 0; i < w; i++) mean += x[o + i];
    mean /= w;
    for (let i = 0; i < w; i++) out[o + i] = x[o + i] - mean;
  }
  return out;
}

export interface SaeInput {
  /** [T, hook.width], row t belonging to tokens[t] (lead rows dropped). */
  acts: Float32Array;
  provider: Provider;
  ms: number;
}

export interface SaeInputs {
  /** Hook name → [T, hook.width], row t belonging to tokens[t] (lead rows dropped). */
  acts: Map<string, Float32Array>;
  provider: Provider;
  ms: number;
}

/**
 * The activations of `hooks` for every token as SAEs fed like `site` read them, in one pass of the
 * model: each window (saeWindows) runs as [lead, its tokens] with positions from 0 at the lead, the
 * lead's rows are dropped (BOS is context, never a token of the run), and the rows are centred when
 * the SAE saw TransformerLens's centred model (saeView).
 */
export async function saeInputs(tokens: Token[], model: Gpt2Model, hooks: Hook[], site: Pick<SaeSite, 'prependBos' | 'centred'>, opts: ExtractOptions = {}): Promise<SaeInputs> {
  const t0 = performance.now();
  const lead = saeLead(site);
  const runner = await windowRunner(tokens, model, hooks.map((h) => h.name), opts, lead);
  const acts = new Map<string, Float32Array>(runner.hooks.map((h) => [h.name, new Float32Array(tokens.length * h.width)]));
  for (const win of saeWindows(tokens.length, model, site)) {
    const out = await runner.run(win);
    for (const h of runner.hooks) acts.get(h.name)!.set(out.get(h.name)!.subarray((lead.length + win.keepFrom - win.start) * h.width), win.keepFrom * h.width);
  }
  for (const h of runner.hooks) acts.set(h.name, saeView(site, h, acts.get(h.name)!));
  return { acts, provider: runner.provider, ms: performance.now() - t0 };
}

/** The activations of one hook as the SAE of `site` reads them (saeInputs). */
export async function saeInput(tokens: Token[], model: Gpt2Model, hook: Hook, site: Pick<SaeSite, 'prependBos' | 'centred'>, opts: ExtractOptions = {}): Promise<SaeInput> {
  const r = await saeInputs(tokens, model, [hook], site, opts);
  return { acts: r.acts.get(hook.name)!, provider: r.provider, ms: r.ms };
}
