/** Per-token and per-latent facts of a run, read from its analysis report, in the shape the editor shows. */
import type { LatentEvidence } from '../core/evidence/types';
import type { RunView } from './protocol';

/** geography = concept-selective (passes the test), punctuation = punctuation-firing, other = any other latent, highlight = one latent's heatmap. */
export const HUES = ['geography', 'punctuation', 'other', 'highlight'] as const;
export type Hue = (typeof HUES)[number];

export type LatentFlag = 'concept' | 'proxy' | 'punctuation' | 'always-on' | 'near-always';

export interface LatentFacts {
  latent: number;
  densityPct: number;
  /** The concept test (the latent fires on a concept token, or a p-value was computed). score null: fires on concept tokens only. */
  concept?: { score: number | null; p: number | null; q: number | null; support: number; significant: boolean };
  punctuationShare: number;
  flags: LatentFlag[];
}

export interface TokenLatent {
  latent: number;
  value: number;
}

/**
 * Which latent tints a token, and why. Candidates: the token's strongest latents by activation (the
 * report's top per token), without the always-on and near-always ones unless `excludeAlwaysOn` is
 * off. Each is measured against its own scale, its largest activation over the document: the tint
 * goes to the candidate at the highest share of its document max (ties: the larger activation). The
 * share picks the latent; its activation is what gets painted (docState.ts paintInput).
 */
export interface TintChoice {
  /** undefined: no candidate fires on the token. */
  latent?: number;
  /** Share of the latent's document max, in (0, 1]; 0 without a latent. */
  share: number;
  value: number;
  hue: Hue;
  /** One line for the hover: which latent set the tint and why. */
  why: string;
}

export interface RunFacts {
  /** The token's strongest latents, largest first. */
  top(token: number): TokenLatent[];
  facts(latent: number): LatentFacts;
  /** concept-selective (q ≤ alpha, support ≥ minSupport) → geography hue, punctuation-firing → punctuation hue, else other. */
  hue(latent: number): Hue;
  tint(token: number, excludeAlwaysOn: boolean): TintChoice;
  /** The latent's causal evidence (ablation, logit effects), when the run's evidence covers it. */
  evidence(latent: number): LatentEvidence | undefined;
}

/** The run's causal evidence by latent; empty while it is computed, or when it is unavailable. */
export function evidenceByLatent(view: RunView): Map<number, LatentEvidence> {
  const e = view.analysis.evidence;
  return new Map(e && 'latents' in e ? e.latents.map((l) => [l.latent, l]) : []);
}

const percent = (share: number) => `${Math.round(100 * share)} %`;

export function runFacts(view: RunView): RunFacts {
  const a = view.analysis;
  const t = a.latents;
  const o = a.options;
  const significant = (l: number) => t.q[l] !== null && t.q[l]! <= o.alpha && t.support[l] >= o.minSupport;
  const alwaysOn = new Set(a.alwaysOn);
  const nearAlways = new Set(a.nearAlways);
  const punctuation = (l: number) => t.punctuationShare[l] >= o.punctuationThreshold && t.densityPct[l] > 0;
  const proxy = (l: number) => t.punctuationShare[l] >= o.proxyThreshold || t.stopwordShare[l] >= o.proxyThreshold;
  const hue = (l: number): Hue => (significant(l) ? 'geography' : punctuation(l) ? 'punctuation' : 'other');
  const listOf = (top: typeof a.perToken, token: number): TokenLatent[] => (top.latents[token] ?? []).map((latent, j) => ({ latent, value: top.values[token][j] }));
  const evidence = evidenceByLatent(view);
  return {
    evidence: (l) => evidence.get(l),
    top: (token) => listOf(a.perToken, token),
    facts(l) {
      const flags: LatentFlag[] = [];
      const sig = significant(l);
      if (sig) flags.push('concept');
      if (sig && proxy(l)) flags.push('proxy');
      if (punctuation(l)) flags.push('punctuation');
      if (alwaysOn.has(l)) flags.push('always-on');
      else if (nearAlways.has(l)) flags.push('near-always');
      const score = t.score[l];
      const p = t.p[l];
      return {
        latent: l,
        densityPct: t.densityPct[l],
        concept: score !== 0 || p !== null ? { score, p, q: t.q[l], support: t.support[l], significant: sig } : undefined,
        punctuationShare: t.punctuationShare[l],
        flags,
      };
    },
    hue,
    tint(token, excludeAlwaysOn) {
      const candidates = listOf(excludeAlwaysOn ? a.perTokenExcludingAlwaysOn : a.perToken, token);
      const included = excludeAlwaysOn ? '' : ', always-on ones included';
      let best: (TokenLatent & { share: number }) | undefined;
      for (const c of candidates) {
        const share = t.max[c.latent] > 0 ? Math.min(1, c.value / t.max[c.latent]) : 0;
        if (!best || share > best.share + 1e-9) best = { ...c, share };
      }
      if (!best || !(best.share > 0)) {
        const why = excludeAlwaysOn && listOf(a.perToken, token).length > 0 ? 'No tint: only always-on or near-always latents fire here' : 'No tint: no latent fires here';
        return { share: 0, value: 0, hue: 'other', why };
      }
      const of = candidates.length === 1 ? `the token's only candidate${excludeAlwaysOn ? ' (always-on latents left out)' : ''}` : `the highest of the token's ${candidates.length} strongest latents${included}`;
      return {
        latent: best.latent,
        share: best.share,
        value: best.value,
        hue: hue(best.latent),
        why: `Tint #${best.latent}: ${percent(best.share)} of its document max, ${of}`,
      };
    },
  };
}
