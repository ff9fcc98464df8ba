import { Rng } from '../rng';

/**
 * More permutations for one latent, drawn on its own firing tokens only. Under a uniform permutation
 * of the concept labels over n tested tokens (nC concept), the labels on the latent's f firing tokens
 * are a uniform draw without replacement: the number x of them labelled concept is
 * Hypergeometric(n, nC, f), and given x, which ones is a uniform x-subset. Each permutation costs
 * O(min(x, f − x)) instead of O(n).
 */
export interface LatentSample {
  values: Float64Array; // [f] activations on the latent's firing tested tokens
  total: number; // Σ values
}

/** ln k! for k = 0..n. */
export function logFactorials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let k = 2; k <= n; k++) out[k] = out[k - 1] + Math.log(k);
  return out;
}

/** CDF of Hypergeometric(n, nC, f) over x = lo..hi, as cumulative probabilities [hi − lo + 1]. */
function hypergeometricCdf(n: number, nC: number, f: number, lnFact: Float64Array): { lo: number; cdf: Float64Array } {
  const lnChoose = (a: number, b: number) => lnFact[a] - lnFact[b] - lnFact[a - b];
  const lo = Math.max(0, f - (n - nC));
  const hi = Math.min(f, nC);
  const cdf = new Float64Array(hi - lo + 1);
  const denom = lnChoose(n, f);
  let acc = 0;
  for (let x = lo; x <= hi; x++) {
    acc += Math.exp(lnChoose(nC, x) + lnChoose(n - nC, f - x) - denom);
    cdf[x - lo] = acc;
  }
  return { lo, cdf };
}

export interface Refinement {
  exceed: number;
  permutations: number;
}

/** prefix[k] = sum of the k largest (descending) or k smallest (ascending) values, k = 0..f. */
function prefixSums(values: Float64Array, descending: boolean): Float64Array {
  const sorted = Float64Array.from(values).sort();
  if (descending) sorted.reverse();
  const out = new Float64Array(sorted.length + 1);
  for (let i = 0; i < sorted.length; i++) out[i + 1] = out[i] + sorted[i];
  return out;
}

/**
 * Continues a latent's permutation test from `start` until `stopAt` exceedances or `max` permutations
 * in all. A permutation exceeds when the lab's score of its concept side, (sumC/x) / (sumO/(f − x)),
 * reaches `bar` (the observed score less its tie slack), i.e. when sumC ≥ need(x) =
 * bar·total·x / ((f − x) + bar·x); x = 0 or f scores 0. A draw is abandoned as soon as even the
 * largest (or smallest) remaining values could not reach need(x): for a latent far in the tail that
 * is after a few values instead of x.
 */
export function refine(sample: LatentSample, n: number, nC: number, lnFact: Float64Array, bar: number, start: Refinement, stopAt: number, max: number, rng: Rng): Refinement {
  const { values, total } = sample;
  const f = values.length;
  const { lo, cdf } = hypergeometricCdf(n, nC, f, lnFact);
  const last = cdf.length - 1;
  const top = prefixSums(values, true);
  const bottom = prefixSums(values, false);
  const order = Int32Array.from({ length: f }, (_, i) => i);
  let { exceed, permutations } = start;
  while (exceed < stopAt && permutations < max) {
    permutations++;
    const u = rng.uniform() * cdf[last];
    let a = 0;
    let b = last;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (cdf[mid] > u) b = mid;
      else a = mid + 1;
    }
    const x = lo + a;
    if (x === 0 || x === f) continue; // score 0 < bar
    const need = (bar * total * x) / (f - x + bar * x);
    // A uniform subset by partial Fisher–Yates: the concept side when it is the smaller one
    // (exceeds when its sum ≥ need), else the other side (exceeds when its sum ≤ total − need).
    const conceptSide = x <= f - x;
    const m = conceptSide ? x : f - x;
    const limit = conceptSide ? need : total - need;
    let sum = 0;
    let i = 0;
    for (; i < m; i++) {
      if (conceptSide ? sum + top[m - i] < limit : sum + bottom[m - i] > limit) break;
      const j = i + Math.floor((rng.nextU32() / 4294967296) * (f - i));
      const t = order[j];
      order[j] = order[i];
      order[i] = t;
      sum += values[t];
    }
    if (i === m && (conceptSide ? sum >= limit : sum <= limit)) exceed++;
  }
  return { exceed, permutations };
}
