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

/**
 * The activations of `hook` (the site's) for every token as the SAE reads them: each window
 * (saeWindows) runs as [lead, its tokens] with positions from 0 at the lead, the lead's rows are
 * dropped (BOS is context, never a token of the run), and the rows are centred when the SAE saw
 * TransformerLens's centred model (saeView).
 */
export async function saeInput(tokens: Token[], model: Gpt2Model, hook: Hook, site: Pick<SaeSite, 'prependBos' | 'centred'>, opts: ExtractOptions = {}): Promise<SaeInput> {
  const t0 = performance.now();
  const lead = saeLead(site);
  const runner = await windowRunner(tokens, model, [hook.name], opts, lead);
  const acts = new Float32Array(tokens.length * hook.width);
  for (const win of saeWindows(tokens.length, model, site)) {
    const rows = (await runner.run(win)).get(hook.name)!.subarray((lead.length + win.keepFrom - win.start) * hook.width);
    acts.set(rows, win.keepFrom * hook.width);
  }
  return { acts: saeView(site, hook, acts), provider: runner.provider, ms: performance.now() - t0 };
}
