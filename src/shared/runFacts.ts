/** Per-token and per-latent facts of a run, read from its analysis report, in the shape the editor shows. */
import type { RunView } from './protocol';

/** geography = concept-selective, punctuation = punctuation-firing, other = any other latent, highlight = one latent's heatmap. */
export const HUES = ['geography', 'punctuation', 'other', 'highlight'] as const;
export type Hue = (typeof HUES)[number];

export type LatentFlag = 'concept' | 'proxy' | 'punctuation' | 'always-on' | 'near-always';

export interface LatentFacts {
  latent: number;
  densityPct: number;
  /** The concept test (score > 0, or a p-value was computed). */
  concept?: { score: number; p: number | null; q: number | null; support: number };
  punctuationShare: number;
  flags: LatentFlag[];
}

export interface TokenLatent {
  latent: number;
  value: number;
}

export interface RunFacts {
  /** The token's strongest latents, largest first. */
  top(token: number): TokenLatent[];
  facts(latent: number): LatentFacts;
  /** concept-selective (listed, score > 1) → geography hue, punctuation-firing → punctuation hue, else other. */
  hue(latent: number): Hue;
}

export function runFacts(view: RunView): RunFacts {
  const a = view.analysis;
  // Listed with a score above 1: the latent fires more strongly on concept tokens than elsewhere
  // (a listed score of 1 or less, e.g. an always-on latent's, is not selectivity).
  const listed = new Map(a.conceptList.filter((e) => e.score > 1).map((e) => [e.latent, e]));
  const alwaysOn = new Set(a.alwaysOn);
  const nearAlways = new Set(a.nearAlways);
  const punctuation = (l: number) => a.latents.punctuationShare[l] >= a.options.punctuationThreshold && a.latents.densityPct[l] > 0;
  return {
    top: (t) => (a.perToken.latents[t] ?? []).map((latent, j) => ({ latent, value: a.perToken.values[t][j] })),
    facts(l) {
      const flags: LatentFlag[] = [];
      const entry = listed.get(l);
      if (entry) flags.push('concept');
      if (entry?.proxy) flags.push('proxy');
      if (punctuation(l)) flags.push('punctuation');
      if (alwaysOn.has(l)) flags.push('always-on');
      else if (nearAlways.has(l)) flags.push('near-always');
      const score = a.latents.score[l];
      const p = a.latents.p[l];
      return {
        latent: l,
        densityPct: a.latents.densityPct[l],
        concept: score > 0 || p !== null ? { score, p, q: a.latents.q[l], support: a.latents.support[l] } : undefined,
        punctuationShare: a.latents.punctuationShare[l],
        flags,
      };
    },
    hue: (l) => (listed.has(l) ? 'geography' : punctuation(l) ? 'punctuation' : 'other'),
  };
}
