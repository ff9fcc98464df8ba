/**
 * What the tints mean, in words, for the status bar's tooltip, the latent browser's legend and the
 * hover: one text, so that the three never disagree (decorations/tint.ts computes the strengths).
 */
import type { Hue } from './runFacts';

/** The default colour of each hue (package.json contributes.colors) and what it says about the tinting latent. */
export function hueMeaning(hue: Hue, concept: string): { colour: string; means: string } {
  switch (hue) {
    case 'geography':
      return { colour: 'teal', means: `${concept}-selective: passes the ${concept} test (q ≤ 0.05)` };
    case 'punctuation':
      return { colour: 'orange', means: 'punctuation-firing: most of its activation is on punctuation or whitespace' };
    case 'other':
      return { colour: 'indigo', means: 'any other latent' };
    case 'highlight':
      return { colour: 'pink', means: 'the latent highlighted on its own' };
  }
}

/**
 * Strength b of 4 covers (value / max)² in ((b − 1)/4, b/4], max being the document's strongest
 * tint: 4 above 87 % of it (√¾), 3 above 71 % (√½), 2 above 50 % (√¼), 1 below.
 */
export const STRENGTH_LEGEND = "Strength (1–4, light to full): the tinting latent's activation against the strongest tint in the document — 4 above 87 % of it, 3 above 71 %, 2 above 50 %, 1 below.";

export const TINT_LEGEND_INTRO = "Each token is tinted by its most informative latent; the hue says which kind of latent that is:";

/** The legend as plain lines (the status bar's tooltip). */
export function legendLines(concept: string, hues: readonly Hue[] = ['geography', 'punctuation', 'other']): string[] {
  return [TINT_LEGEND_INTRO, ...hues.map((h) => `  ${hueMeaning(h, concept).colour}: ${hueMeaning(h, concept).means}`), STRENGTH_LEGEND];
}
