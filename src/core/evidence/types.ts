import type { Window } from '../extract';
import type { SaeDecoding } from '../sae/model';

/**
 * What the evidence reads of an SAE model (src/core/sae/model.ts): x̂ = (z·W_dec + b_dec)·s_out + μ
 * in the SAE's view of the hook, and how the hook is fed to it (BOS per window, centring). Not
 * assumed tied: a trained SAE has W_dec = W_encᵀ and zero biases, the field's have their own.
 */
export type SaeDecoder = SaeDecoding;

/** Token groups for the split of ablation effects by the token being predicted; 1 = in the group. */
export interface TokenGroups {
  concept: Uint8Array; // [T]
  punctuation: Uint8Array; // [T]
}

/** CE(x) = mean over positions t = 0…T−2 of −log p(token t+1) with the hook set to x. */
export interface Fidelity {
  ceClean: number;
  /** Hook replaced by the SAE reconstruction x̂ = z·W_dec + b_dec at every position. */
  ceSpliced: number;
  /** Hook replaced by zeros at every position. */
  ceZeroAblation: number;
  /** (ceZeroAblation − ceSpliced) / (ceZeroAblation − ceClean); null when zero ablation costs nothing. */
  ceRecovered: number | null;
  /**
   * FVE = 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² (sae/metrics.ts) on the activations recomputed for these tests;
   * it matches the run's final FVE when the model is the one the SAE was trained on.
   */
  fve: number;
  /** Positions averaged: T − 1. */
  positions: number;
  /** −log p(token t+1) for t = 0…T−2, per version of the hook. */
  perPosition: { clean: number[]; spliced: number[]; zeroAblation: number[] };
}

export interface LogitToken {
  id: number;
  /** The token's GPT-2 vocabulary string; null for an id beyond GPT-2's vocabulary. */
  token: string | null;
  value: number;
}

/** Direct logit effects of a latent's decoder direction, or why it has none. */
export type LogitEffects = { top: LogitToken[]; bottom: LogitToken[] } | { omitted: string };

/** Mean Δ over the positions whose next token is in a group. */
export interface GroupDelta {
  positions: number;
  /** null when no position's next token is in the group. */
  meanDeltaLoss: number | null;
}

/**
 * Ablation of one latent keeping the SAE's error term: the hook becomes x − z_j·s_out·W_dec[j] at every
 * position (s_out = 1 unless the SAE normalises its input, model.ts); Δ_t = CE_t(ablated) − CE_t(clean), t = 0…T−2.
 */
export interface Ablation {
  meanDeltaLoss: number;
  maxDeltaLoss: number;
  perPosition: number[];
  /** Positions t whose next token t+1 is a concept token / is punctuation. */
  conceptNext: GroupDelta;
  punctuationNext: GroupDelta;
  /** Tokens where the latent is non-zero (positions before the first one have Δ = 0 exactly, by causality). */
  firingTokens: number;
}

export interface LatentEvidence {
  latent: number;
  logits: LogitEffects;
  ablation: Ablation;
}

export interface Evidence {
  /** The model's label (Gpt2Model.label). */
  model: string;
  /** True when the model has random weights: every display must say so. */
  randomWeights: boolean;
  hookName: string;
  nTokens: number;
  /** The windows the document ran in (planWindows); one window when it fits the context. */
  windows: Window[];
  /** True when the document ran in more than one window: every CE is then computed per window (see `rule`). */
  perWindow: boolean;
  /** How CE positions and windows were handled, in words. */
  rule: string;
  fidelity: Fidelity;
  latents: LatentEvidence[];
  /** Wall time of the computation. */
  ms: number;
}
