import { checkCodes, toColumns } from '../analysis/columns';
import { UserError } from '../errors';
import type { Window } from '../extract';
import { parseHook, type Hook } from '../hooks';
import type { Gpt2Model } from '../model/load';
import { saeLead, saeWindows } from '../sae/input';
import type { SparseCodes } from '../sae/types';
import type { Token } from '../tokenizer';
import { logitEffects } from './logitEffects';
import { spliceLosses, type SpliceLosses, type SpliceOptions } from './splice';
import type { Ablation, Evidence, Fidelity, GroupDelta, LogitEffects, LogitToken, SaeDecoder, TokenGroups } from './types';

export interface EvidenceInputs {
  model: Gpt2Model;
  /** Full TransformerLens name of the hook the SAE reads, e.g. "blocks.6.hook_mlp_out". */
  hookName: string;
  tokens: readonly Pick<Token, 'id' | 'text'>[];
  decoder: SaeDecoder;
  /** The SAE's codes of every token, rows in token order. */
  codes: SparseCodes;
  groups: TokenGroups;
}

export type EvidenceOptions = SpliceOptions;

/**
 * 9 significant digits: every float32 loss and logit exactly, and enough that ceRecovered, a ratio of
 * differences of nearby CEs, can be recomputed from the printed CEs.
 */
const r9 = (x: number) => Number(x.toPrecision(9));
const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / xs.length;

function rounded(e: LogitEffects): LogitEffects {
  if ('omitted' in e) return e;
  const side = (ts: LogitToken[]) => ts.map((t) => ({ ...t, value: r9(t.value) }));
  return { top: side(e.top), bottom: side(e.bottom) };
}

function check(inp: EvidenceInputs, hook: Hook, latents: number[]): void {
  const { tokens, decoder, groups } = inp;
  const T = tokens.length;
  if (T < 2) throw new UserError(`the causal tests need at least 2 tokens (the loss at position t predicts token t + 1); this text has ${T}.`, 'E_TOKENS');
  const { dSae, dIn } = decoder;
  if (dIn !== hook.width || decoder.wDec.length !== dSae * dIn || decoder.bDec.length !== dIn) {
    throw new UserError(`the SAE decoder (W_dec of ${decoder.wDec.length} values for ${dSae} latents × d_in ${dIn}, b_dec of ${decoder.bDec.length}) does not fit ${hook.name}, which is ${hook.width} wide on this model; use the model the SAE was trained on.`, 'E_DIN');
  }
  checkCodes(inp.codes, T, dSae, 'the SAE codes');
  if (groups.concept.length !== T || groups.punctuation.length !== T) throw new Error(`token groups have ${groups.concept.length} / ${groups.punctuation.length} entries for ${T} tokens`);
  checkLatents(latents, dSae);
}

/** Every latent id must name one of the SAE's `dSae` latents. */
export function checkLatents(latents: readonly number[], dSae: number): void {
  const bad = latents.find((l) => !(Number.isInteger(l) && l >= 0 && l < dSae));
  if (bad !== undefined) throw new UserError(`latent ${bad} is out of range: this SAE has ${dSae} latents, numbered 0 to ${dSae - 1}.`, 'E_LATENT');
}

function windowRule(T: number, P: number, windows: Window[], bos: boolean): string {
  const lead = bos ? ' Every window starts with BOS, as the SAE was trained, which takes one position of the context: BOS is context, and its position is never scored.' : '';
  const ce = `CE_t = −log p(token t+1 | tokens 0…t) for t = 0…${T - 2} (the last token predicts nothing); each CE is the mean of its ${T - 1} positions.${lead}`;
  if (windows.length === 1) return `${ce} The document fits the model's context of ${P} tokens: one window.`;
  return (
    `${ce} The document's ${T} tokens exceed the model's context of ${P}: every number was computed per window, in ${windows.length} windows (planWindows). ` +
    `Position t's loss comes from the window that supplies t's activations, with target token t+1 even when that token lies in the next window (the logits at t depend on tokens ≤ t only). ` +
    `In each window the hook is replaced (or a latent ablated) only at the positions that window supplies; its first ${windows[1].keepFrom - windows[1].start} context positions keep their clean activations.`
  );
}

function groupDelta(delta: Float64Array, group: Uint8Array): GroupDelta {
  let n = 0;
  let sum = 0;
  for (let t = 0; t < delta.length; t++) {
    if (group[t + 1]) {
      n++;
      sum += delta[t];
    }
  }
  return { positions: n, meanDeltaLoss: n ? r9(sum / n) : null };
}

function ablation(ablated: Float64Array, clean: Float64Array, groups: TokenGroups, firingTokens: number): Ablation {
  const delta = ablated.map((v, t) => v - clean[t]);
  return {
    meanDeltaLoss: r9(mean(delta)),
    maxDeltaLoss: r9(delta.reduce((a, b) => Math.max(a, b), -Infinity)),
    perPosition: Array.from(delta, r9),
    conceptNext: groupDelta(delta, groups.concept),
    punctuationNext: groupDelta(delta, groups.punctuation),
    firingTokens,
  };
}

function fidelity({ clean, spliced, zero, fve }: SpliceLosses): Fidelity {
  const [ceClean, ceSpliced, ceZeroAblation] = [clean, spliced, zero].map(mean);
  const span = ceZeroAblation - ceClean;
  return {
    ceClean: r9(ceClean),
    ceSpliced: r9(ceSpliced),
    ceZeroAblation: r9(ceZeroAblation),
    ceRecovered: span === 0 ? null : r9((ceZeroAblation - ceSpliced) / span),
    fve: r9(fve),
    positions: clean.length,
    perPosition: { clean: Array.from(clean, r9), spliced: Array.from(spliced, r9), zeroAblation: Array.from(zero, r9) },
  };
}

/**
 * The causal evidence of an SAE on one document (issue 9): fidelity (CE clean, spliced, zero
 * ablated, recovered), and for each of `latents` its direct logit effects and the effect of
 * ablating it on every position's loss. Numbers carry 9 significant digits.
 */
export async function computeEvidence(inp: EvidenceInputs, latents: number[], opts: EvidenceOptions = {}): Promise<Evidence> {
  const t0 = performance.now();
  const { model, tokens, decoder } = inp;
  const hook = parseHook(inp.hookName, model.config);
  const ids = [...new Set(latents)];
  check(inp, hook, ids);
  const T = tokens.length;
  const bos = saeLead(decoder.site).length > 0;
  const P = model.config.nPositions - (bos ? 1 : 0);
  const cols = toColumns(inp.codes, T, decoder.dSae);
  const windows = saeWindows(T, model, decoder.site);
  const losses = await spliceLosses({ model, hook, tokens, decoder, codes: inp.codes, cols, latents: ids, windows }, opts);
  const logits = await logitEffects(model, hook, decoder, ids, opts);
  return {
    model: model.label,
    randomWeights: model.randomWeights,
    hookName: hook.name,
    nTokens: T,
    windows,
    perWindow: windows.length > 1,
    rule: windowRule(T, P, windows, bos),
    fidelity: fidelity(losses),
    latents: ids.map((latent, k) => ({
      latent,
      logits: rounded(logits[k]),
      ablation: ablation(losses.ablated[k], losses.clean, inp.groups, cols.colPtr[latent + 1] - cols.colPtr[latent]),
    })),
    ms: performance.now() - t0,
  };
}
