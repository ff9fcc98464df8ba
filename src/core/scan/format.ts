import type { RunCfg } from '../run/format';
import type { SaeConfig } from '../sae/config';
import type { EngineChoice } from '../sae/train';
import type { MatchBasis } from './match';

/**
 * A scan directory: one ordinary run directory per layer (`layer-{L}/`: cfg.json … analysis.json,
 * report.html, each exactly what `latent-lens train` or `apply` writes for that layer alone) and
 * scan.json, rewritten atomically after each layer. The layer directories are the record: each
 * appears whole (built aside and renamed into place) or not at all; scan.json adds per layer the
 * numbers below and the cross-layer matches, and says which requested layers are still to do.
 */
export const SCAN_VERSION = 1;
export const SCAN_FILE = 'scan.json';

/** What must be equal for a scan directory to be resumed: the text, the model and the SAE recipe. */
export interface ScanSettings {
  /** tokens.json's source and offset. */
  source: string;
  offset: number;
  /** sha256 of the text, hex. */
  textSha256: string;
  nTokens: number;
  model: RunCfg['model'];
  sae: TrainedScan | ReleaseScan;
}

/** One SAE trained per layer from one SaeConfig (hook = the template, layer = null) on one engine. */
export interface TrainedScan {
  kind: 'trained';
  /** e.g. "blocks.{L}.hook_mlp_out". */
  hookTemplate: string;
  config: SaeConfig;
  engine: EngineChoice;
}

/** Each layer's SAE of a release of the registry (src/core/sae/releases.ts), applied. */
export interface ReleaseScan {
  kind: 'release';
  release: string;
  /** The release's hook kind, as a template. */
  hookTemplate: string;
}

/** The best significant concept latent of a layer: the first of its concept list (by q, then effect). */
export interface BestLatent {
  latent: number;
  effect: number | null;
  q: number | null;
}

/** One done layer. Every number is read from the layer's metrics.json and analysis.json, as defined here. */
export interface LayerRow {
  layer: number;
  /** Its run directory, relative to the scan directory ("layer-6"). */
  dir: string;
  hook: string;
  dIn: number;
  dSae: number;
  /** metrics.json final.fve: fraction of variance explained on this text. */
  fve: number;
  /** final.l0: mean non-zero latents per token. */
  l0: number;
  /** 100 · final.dead_fraction: % of latents that fire on no token. */
  deadPct: number;
  /**
   * analysis.json evidence.fidelity.ceRecovered = (CE zero-ablated − CE spliced) / (CE zero-ablated
   * − CE clean); null without evidence (then `evidence` says why) or when zero-ablating costs nothing.
   */
  ceRecovered: number | null;
  /** "ok", "off" (--no-evidence), or why the run has none. */
  evidence: string;
  /** summary.significant: latents with q ≤ alpha and support ≥ minSupport. */
  significant: number;
  /** conceptList[0], or null when nothing is significant. */
  best: BestLatent | null;
  /** summary.punctuationFiring: latents with ≥ punctuationThreshold of their activation mass on punctuation/whitespace tokens. */
  punctuationFiring: number;
  /** Latents firing on ≥ 1 token: dSae − summary.dead. */
  alive: number;
  /** punctuationFiring / alive (null when nothing fires). */
  punctuationShare: number | null;
  /** conceptList.length: the significant latents listed (at most the analysis's `top`). */
  listed: number;
  /** Listed significant latents flagged PROXY (punctuation or stopword share ≥ proxyThreshold). */
  proxies: number;
  /** proxies / listed (null when nothing is listed). */
  proxyShare: number | null;
  /** sha256 of the analysis request the layer was analysed with; another request re-analyses it. */
  analysisKey: string;
  /** Wall time of the layer's training (or encoding), analysis and evidence, ms. */
  ms: number;
}

/** A listed significant latent of one layer and its best match in a neighbouring layer (match.ts). */
export interface CrossMatch {
  latent: number;
  q: number | null;
  effect: number | null;
  match: {
    /** The neighbour's latent whose unit direction in the matching's basis has the largest cosine with this one's. */
    latent: number;
    /** That cosine. */
    cos: number;
    /** The raw decoder cosine of the two (W_dec rows), whatever the basis. */
    decoderCos: number;
    /** In the neighbour: q ≤ alpha and support ≥ minSupport. */
    significant: boolean;
    q: number | null;
    effect: number | null;
  };
  /** cos ≥ the matching threshold. */
  persists: boolean;
}

/** Matches of `from`'s listed significant latents in `to`, the next or previous done layer. */
export interface LayerPair {
  from: number;
  to: number;
  latents: CrossMatch[];
}

export interface ScanJson {
  version: number;
  /** ISO time of this write. */
  updated: string;
  settings: ScanSettings;
  /** The layers the last command asked for, ascending. */
  layers: number[];
  /** One per done layer, ascending. */
  rows: LayerRow[];
  /** Requested layers not done yet: the scan was cancelled or failed; the same command resumes it. */
  pending: number[];
  /** Requested layers the release has no SAE for, with the reason; they are skipped. */
  missing: { layer: number; reason: string }[];
  /**
   * Between neighbouring done layers (in the requested order), both directions; basis "learned"
   * (W_dec − W0ᵀ, for a trained scan: every layer starts from the same W0) or "decoder" (W_dec).
   */
  matching: { basis: MatchBasis; threshold: number; pairs: LayerPair[] };
}
