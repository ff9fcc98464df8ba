import type { LatentColumns } from './columns';
import type { TokenClasses } from './tokenClasses';

/**
 * Where a latent's activation mass (Σ|z| over tokens) goes: shares on punctuation/whitespace-only
 * tokens, on stopwords, and on the document's first token (where GPT-2 parks attention). A latent
 * that never fires has all shares 0.
 */
export interface NoiseProfile {
  mass: Float64Array; // [nLatents] Σ|z|
  punctuationMass: Float64Array; // [nLatents]
  punctuationShare: Float64Array; // [nLatents] in [0, 1]
  stopwordShare: Float64Array; // [nLatents]
  firstTokenShare: Float64Array; // [nLatents]
}

export function noiseProfile(cols: LatentColumns, classes: TokenClasses): NoiseProfile {
  const { nLatents: L, colPtr, token, value } = cols;
  const mass = new Float64Array(L);
  const punctuationMass = new Float64Array(L);
  const punctuationShare = new Float64Array(L);
  const stopwordShare = new Float64Array(L);
  const firstTokenShare = new Float64Array(L);
  for (let l = 0; l < L; l++) {
    let all = 0;
    let punct = 0;
    let stop = 0;
    let first = 0;
    for (let j = colPtr[l]; j < colPtr[l + 1]; j++) {
      const t = token[j];
      const a = Math.abs(value[j]);
      all += a;
      if (classes.punctuation[t]) punct += a;
      if (classes.stopword[t]) stop += a;
      if (t === 0) first += a;
    }
    mass[l] = all;
    punctuationMass[l] = punct;
    if (all > 0) {
      punctuationShare[l] = punct / all;
      stopwordShare[l] = stop / all;
      firstTokenShare[l] = first / all;
    }
  }
  return { mass, punctuationMass, punctuationShare, stopwordShare, firstTokenShare };
}

/** Latents whose punctuation share is ≥ `threshold`, by punctuation mass (largest first). */
export function punctuationFiring(noise: NoiseProfile, threshold: number): number[] {
  const out: number[] = [];
  for (let l = 0; l < noise.mass.length; l++) {
    if (noise.punctuationMass[l] > 0 && noise.punctuationShare[l] >= threshold) out.push(l);
  }
  return out.sort((a, b) => noise.punctuationMass[b] - noise.punctuationMass[a] || a - b);
}

/** The proxy rule: a concept-selective latent whose punctuation or stopword share is ≥ `threshold`. */
export function isProxy(noise: NoiseProfile, latent: number, threshold: number): boolean {
  return noise.punctuationShare[latent] >= threshold || noise.stopwordShare[latent] >= threshold;
}
