import type { BlockShape } from './blockScheme';
import type { Evidence } from '../evidence/types';
import type { DensityHistogram } from './density';
import type { Heatmap } from './heatmap';
import type { MatchRule } from './lexicon';
import type { TokenTopLatents } from './tokenTop';

/**
 * analysis.json: what the CLI, the editor and the latent browser read. Bump ANALYSIS_VERSION on any
 * change a reader of the old shape would misread; readers refuse other versions (reportFile.ts).
 * Numbers are rounded to 6 significant digits. Per-latent arrays are indexed by latent id; null
 * marks "not defined": p and q of an untested latent (support < minSupport), the lab's score of a
 * latent firing on concept tokens only, diff and effect when there was no test (no concept or no
 * other token).
 */
export const ANALYSIS_VERSION = 2;

/** Files the analysis writes into a run directory. */
export const ANALYSIS_FILE = 'analysis.json';
export const REPORT_HTML_FILE = 'report.html';

export interface AnalysisReport {
  version: number;
  /** ISO time of the analysis. */
  created: string;
  run: RunInfo;
  options: ResolvedAnalysisOptions;
  summary: AnalysisSummary;
  densityHistogram: DensityHistogram;
  /** Always-on and near-always latents (ids), dead ones counted in the summary. */
  alwaysOn: number[];
  nearAlways: number[];
  latents: LatentTable;
  perToken: TokenTopLatents;
  /** The same, among the latents that are neither always-on nor near-always (what the editor's tints pick from by default). */
  perTokenExcludingAlwaysOn: TokenTopLatents;
  concept: ConceptInfo;
  /**
   * The concept-selective latents: those that pass, q ≤ alpha and support ≥ minSupport (selectivity.ts),
   * at most `top`, by q (smallest first), then effect (largest first), then latent id.
   */
  conceptList: ListedLatent[];
  /**
   * Not significant: the best `top` of the other latents firing on a concept token — tested ones by
   * q, then effect; then untested ones (support < minSupport) by effect. Never called selective.
   */
  conceptCandidates: ListedLatent[];
  /** Latents with punctuation share ≥ options.punctuationThreshold, by punctuation mass. */
  punctuationList: ListedLatent[];
  /** One per latent of the three lists. */
  heatmaps: Heatmap[];
  /**
   * Causal evidence (src/core/evidence/): CE fidelity of the SAE spliced into GPT-2 and, for the top
   * latents of the three lists, ablation ΔCE and logit effects; or why it could not be computed.
   * Absent until computed (it needs the GPT-2 the run was trained on).
   */
  evidence?: Evidence | { unavailable: string };
  messages: ReportMessage[];
}

export interface RunInfo {
  /** Where the text came from (tokens.json source). */
  source: string;
  nTokens: number;
  nLatents: number;
  /** From cfg.json when the analysis ran on a run directory. */
  model?: string;
  hookName?: string;
  k?: number;
  preset?: string;
  seed?: number;
  /** True when the model had random weights: every display must say so. */
  randomWeights: boolean;
}

export interface ResolvedAnalysisOptions {
  topPerToken: number;
  top: number;
  /** Shared permutations for every latent (≥ 1000 for reporting). */
  permutations: number;
  /** Cap of the per-latent refinement for latents with few exceedances (selectivity.ts); in the report, the cap used. */
  maxPermutations: number;
  seed: number;
  nearAlways: number;
  punctuationThreshold: number;
  proxyThreshold: number;
  alpha: number;
  /** Latents firing on fewer concept tokens are not tested (and cannot be listed as selective). */
  minSupport: number;
  histogramBins: number;
}

export interface AnalysisSummary {
  nTokens: number;
  nLatents: number;
  /** % of latents that fire on ≥ 1 token. */
  layerDensityPct: number;
  /** Mean % of latents non-zero per token. */
  meanDensityPct: number;
  l0: number;
  dead: number;
  alwaysOn: number;
  nearAlways: number;
  conceptTokens: number;
  /** Latents tested (support ≥ minSupport): the m of Benjamini–Hochberg. */
  tested: number;
  /** Latents that pass (q ≤ alpha). */
  significant: number;
  /** Listed concept-selective latents flagged as proxies. */
  proxies: number;
  punctuationFiring: number;
}

/** Per-latent values, each an array of length nLatents. */
export interface LatentTable {
  densityPct: number[];
  meanAbs: number[];
  max: number[];
  /** Token of the largest activation, −1 when dead. */
  maxToken: number[];
  /** The lab's ratio of non-zero means; null when the latent fires on concept tokens only (undefined ratio). */
  score: (number | null)[];
  support: number[];
  /** The test statistic: mean activation on concept − on other tested tokens, zeros included. */
  diff: (number | null)[];
  effect: (number | null)[];
  p: (number | null)[];
  /** Permutations behind p (0 when untested). */
  permutations: number[];
  q: (number | null)[];
  punctuationShare: number[];
  stopwordShare: number[];
  firstTokenShare: number[];
}

export interface ConceptInfo {
  name: string;
  lexicon: { name: string; rule: MatchRule; source: string; terms: number };
  /** Lexicon terms found in the document. */
  matchedTerms: string[];
  /** Concept token indices. */
  tokens: number[];
  /** The other side of the test: every non-concept token, or a contrast lexicon's tokens. */
  contrast: { name: string; source: string; terms: number; tokens: number } | null;
  nOther: number;
  /** Effect size used beside the score. */
  effect: 'rank-biserial';
  /** What the permutation test compares (selectivity.ts). */
  statistic: 'mean-difference';
  /** The permutation scheme (blockScheme.ts); null when the test did not run. */
  permutation: PermutationInfo | null;
}

/** Block permutations: tested tokens in `count` blocks of `length`, the first `head` and the tail fixed. */
export type PermutationInfo = { scheme: 'blocks' } & BlockShape;

export interface TopToken {
  token: number;
  text: string;
  value: number;
}

export interface ListedLatent {
  latent: number;
  /** null: fires on concept tokens only (the lab's ratio is undefined). */
  score: number | null;
  diff: number | null;
  p: number | null;
  q: number | null;
  support: number;
  effect: number | null;
  /** Permutations behind p. */
  permutations: number;
  densityPct: number;
  punctuationShare: number;
  punctuationMass: number;
  stopwordShare: number;
  firstTokenShare: number;
  /** Punctuation or stopword share ≥ options.proxyThreshold (set on concept-list entries only: a proxy is a selective latent). */
  proxy: boolean;
  /** The latent's strongest tokens, largest first. */
  topTokens: TopToken[];
}

export type MessageCode =
  | 'random-weights'
  | 'empty-lexicon'
  | 'no-concept-tokens'
  | 'no-other-tokens'
  | 'few-concept-tokens'
  | 'small-document'
  | 'few-permutations'
  | 'concept-only-latents'
  | 'token-shuffle'
  | 'no-evidence';

export interface ReportMessage {
  level: 'info' | 'warning';
  code: MessageCode;
  text: string;
}
