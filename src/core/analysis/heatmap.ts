import type { LatentColumns } from './columns';

/**
 * One latent over the document, the lab's way: activations min–max scaled to [0, 1] across all
 * tokens (silent tokens count as activation 0), drawn with colour intensity = scaled². Stored
 * sparsely: the firing tokens with their scaled values; every other token has the value `rest`
 * (0 for SAE codes, which are non-negative).
 */
export interface Heatmap {
  latent: number;
  min: number;
  max: number;
  tokens: number[]; // firing token indices, ascending
  scaled: number[]; // [tokens.length] in [0, 1]
  rest: number;
}

export function heatmap(cols: LatentColumns, latent: number): Heatmap {
  const { colPtr, token, value, nTokens } = cols;
  const a = colPtr[latent];
  const b = colPtr[latent + 1];
  const someSilent = b - a < nTokens;
  let min = someSilent ? 0 : Infinity;
  let max = someSilent ? 0 : -Infinity;
  for (let j = a; j < b; j++) {
    min = Math.min(min, value[j]);
    max = Math.max(max, value[j]);
  }
  const range = max - min;
  const scale = (v: number) => (range > 0 ? (v - min) / range : 0);
  const tokens: number[] = [];
  const scaled: number[] = [];
  for (let j = a; j < b; j++) {
    tokens.push(token[j]);
    scaled.push(scale(value[j]));
  }
  return { latent, min, max, tokens, scaled, rest: someSilent ? scale(0) : 0 };
}

/** Colour intensity of a scaled activation (the lab's value²). */
export function heatIntensity(scaled: number): number {
  return scaled * scaled;
}

/** The dense [T] scaled values of a heatmap (for renderers). */
export function denseHeat(h: Heatmap, nTokens: number): Float64Array {
  const out = new Float64Array(nTokens).fill(h.rest);
  h.tokens.forEach((t, i) => (out[t] = h.scaled[i]));
  return out;
}
