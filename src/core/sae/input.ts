/** What an SAE reads for each token of a document: the activations it was trained on, made the same way. */
import { extractActivations, planWindows, type ExtractOptions, type Provider } from '../extract';
import type { Hook, HookKind } from '../hooks';
import type { Gpt2Model } from '../model/load';
import { END_OF_TEXT_ID, type Token } from '../tokenizer';
import type { SaeSite } from './model';

/**
 * Hooks whose TransformerLens value under center_writing_weights is the raw value minus its mean
 * over d_model: every weight writing to the residual stream is centred, so the stream and the
 * attention and MLP outputs are; the MLP's hidden hooks are not (LayerNorm has removed the mean).
 */
const CENTRED_KINDS: readonly string[] = ['hook_resid_pre', 'hook_resid_mid', 'hook_resid_post', 'hook_attn_out', 'hook_mlp_out'];

export function centredByWritingWeights(kind: HookKind): boolean {
  return CENTRED_KINDS.includes(kind);
}

/** Subtracts each row's mean from x [T, width], in place. */
function centreRows(x: Float32Array, T: number, width: number): void {
  for (let t = 0; t < T; t++) {
    const row = x.subarray(t * width, (t + 1) * width);
    let mean = 0;
    for (let i = 0; i < width; i++) mean += row[i];
    mean /= width;
    for (let i = 0; i < width; i++) row[i] -= mean;
  }
}

const BOS: Token = { id: END_OF_TEXT_ID, text: '<|endoftext|>', start: 0, end: 0 };

export interface SaeInput {
  /** [T, hook.width], row t belonging to tokens[t] (BOS rows dropped). */
  acts: Float32Array;
  provider: Provider;
  ms: number;
}

/**
 * The activations of `hook` (the site's) for every token. With `prependBos` each window of the document
 * (planWindows with a context one shorter) runs as [BOS, its tokens], positions from 0 at BOS, and
 * the BOS row is dropped: BOS is context, never a token of the run. With `centred`, hooks that
 * TransformerLens centres are centred per token.
 */
export async function saeInput(tokens: Token[], model: Gpt2Model, hook: Hook, site: SaeSite, opts: ExtractOptions = {}): Promise<SaeInput> {
  const t0 = performance.now();
  const T = tokens.length;
  let acts: Float32Array;
  let provider: Provider;
  if (!site.prependBos) {
    const ex = await extractActivations(tokens, model, [hook.name], opts);
    acts = ex.acts.get(hook.name)!;
    provider = ex.provider;
  } else {
    acts = new Float32Array(T * hook.width);
    provider = 'cpu';
    for (const win of planWindows(T, model.config.nPositions - 1)) {
      const ex = await extractActivations([BOS, ...tokens.slice(win.start, win.end)], model, [hook.name], opts);
      const rows = ex.acts.get(hook.name)!.subarray((1 + win.keepFrom - win.start) * hook.width);
      acts.set(rows, win.keepFrom * hook.width);
      provider = ex.provider;
    }
  }
  if (site.centred && centredByWritingWeights(hook.kind)) centreRows(acts, T, hook.width);
  return { acts, provider, ms: performance.now() - t0 };
}
