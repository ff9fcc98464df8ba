import { Rng } from '../rng';
import { benjaminiHochberg } from './benjaminiHochberg';
import type { LatentColumns } from './columns';
import { permuteLabels, type PermutedLabels } from './permutedLabels';
import { rankBiserial } from './rankBiserial';
import { logFactorials, refine } from './refinePermutations';

/**
 * Concept selectivity of every latent over the tested tokens (`group` [T]: 1 concept, 0 other —
 * every non-concept token, or a contrast list — and −1 outside the test).
 *
 * score (the lab's): mean of the latent's non-zero activations on concept tokens ÷ mean of its
 *   non-zero activations on the other tokens; 0 when either set is empty.
 * support: concept tokens where the latent fires.
 * effect: rank-biserial correlation, zeros included (rankBiserial.ts).
 * p: permutation p-value of the score, concept labels shuffled across the tested tokens,
 *   p = (1 + #{permutations with score ≥ observed}) / (1 + P). Every latent gets the same P shared
 *   permutations; a latent with fewer than REFINE_STOP exceedances among them gets more, drawn on its
 *   own (refinePermutations.ts), until REFINE_STOP exceedances or maxPermutations in all (by default ⌈m / α⌉: then a lone
 *   latent that no permutation reaches can get q ≤ α), and its P
 *   counts them all. (Valid: below (1 + REFINE_STOP)/(1 + P) this is Besag–Clifford's sequential test
 *   made more conservative; above it, p can only be ≤ α where the fixed-P p-value is.) Without it the
 *   smallest p is 1/(1 + P) and Benjamini–Hochberg over thousands of latents could never reject.
 *   A latent whose observed score is 0 has p = 1 exactly.
 * q: Benjamini–Hochberg over the tested latents: those firing on ≥ 2 tested tokens (with one, the
 *   score is 0 under every permutation; the choice depends on no label, so it keeps the FDR valid).
 * Untested latents have NaN p, q and effect.
 */
export interface Selectivity {
  nConcept: number;
  nOther: number;
  /** Shared permutations P. */
  permutations: number;
  tested: number;
  /** Refinement cap used. */
  maxPermutations: number;
  /** Permutations each tested latent used (P, or more when refined), 0 when untested. */
  permutationsUsed: Int32Array; // [nLatents]
  score: Float64Array; // [nLatents]
  support: Int32Array; // [nLatents]
  effect: Float64Array; // [nLatents]
  p: Float64Array; // [nLatents]
  q: Float64Array; // [nLatents]
}

/** The default refinement cap never exceeds this, however small α is. */
const AUTO_CAP_LIMIT = 1_000_000;

/** Refinement stops once this many permutations reach the observed score. */
export const REFINE_STOP = 10;

/** Relative slack when comparing a permuted score with the observed one: the two sum in different orders. */
const TIE_SLACK = 1e-9;

/** The lab's score from the concept side's sum and count and the latent's totals over the tested tokens. */
function ratioScore(sumC: number, nC: number, total: number, n: number): number {
  if (nC === 0 || nC === n) return 0;
  const sumO = total - sumC;
  return sumO > 0 ? sumC / nC / (sumO / (n - nC)) : 0;
}

/** Counts the shared permutations whose score reaches `bar`; sum/cnt are [P] scratch arrays. */
function exceedances(
  cols: LatentColumns,
  l: number,
  group: Int8Array,
  perm: PermutedLabels,
  total: number,
  n: number,
  bar: number,
  sum: Float64Array,
  cnt: Int32Array,
): number {
  const { permutations: P, words: W, bits, storesConcept } = perm;
  sum.fill(0);
  cnt.fill(0);
  for (let j = cols.colPtr[l]; j < cols.colPtr[l + 1]; j++) {
    const t = cols.token[j];
    if (group[t] < 0) continue;
    const v = cols.value[j];
    const row = t * W;
    for (let w = 0; w < W; w++) {
      let word = bits[row + w];
      while (word !== 0) {
        const low = word & -word;
        const p = (w << 5) | (31 - Math.clz32(low));
        sum[p] += v;
        cnt[p]++;
        word ^= low;
      }
    }
  }
  let exceed = 0;
  for (let p = 0; p < P; p++) {
    const s = storesConcept ? ratioScore(sum[p], cnt[p], total, n) : ratioScore(total - sum[p], n - cnt[p], total, n);
    if (s >= bar) exceed++;
  }
  return exceed;
}

/** Seed of one latent's refinement stream, so results do not depend on the order latents are processed in. */
function latentSeed(seed: number, latent: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(latent + 1, 0x9e3779b1)) >>> 0;
}

export interface PermutationPlan {
  /** Shared permutations. */
  permutations: number;
  /** Refinement cap; undefined: enough for the smallest p to pass Benjamini–Hochberg alone, ⌈m / α⌉ (at least `permutations`, at most 10⁶). */
  maxPermutations?: number;
  alpha: number;
  seed: number;
}

/** Latents firing on ≥ 2 tested tokens: the m of Benjamini–Hochberg. Depends on no label. */
function countTestable(cols: LatentColumns, group: Int8Array): number {
  let m = 0;
  for (let l = 0; l < cols.nLatents; l++) {
    let f = 0;
    for (let j = cols.colPtr[l]; j < cols.colPtr[l + 1] && f < 2; j++) if (group[cols.token[j]] >= 0) f++;
    if (f >= 2) m++;
  }
  return m;
}

export function conceptSelectivity(cols: LatentColumns, group: Int8Array, plan: PermutationPlan): Selectivity {
  const L = cols.nLatents;
  const { permutations, seed } = plan;
  let nConcept = 0;
  let nOther = 0;
  for (let t = 0; t < group.length; t++) {
    if (group[t] === 1) nConcept++;
    else if (group[t] === 0) nOther++;
  }
  const maxPermutations = plan.maxPermutations ?? Math.max(permutations, Math.min(AUTO_CAP_LIMIT, Math.ceil(countTestable(cols, group) / plan.alpha)));
  const score = new Float64Array(L);
  const support = new Int32Array(L);
  const effect = new Float64Array(L).fill(NaN);
  const p = new Float64Array(L).fill(NaN);
  const permutationsUsed = new Int32Array(L);
  let tested = 0;
  if (nConcept > 0 && nOther > 0) {
    const n = nConcept + nOther;
    const perm = permuteLabels(group, permutations, seed);
    const lnFact = logFactorials(n);
    const sum = new Float64Array(permutations);
    const cnt = new Int32Array(permutations);
    let widest = 0;
    for (let l = 0; l < L; l++) widest = Math.max(widest, cols.colPtr[l + 1] - cols.colPtr[l]);
    const cVals = new Float64Array(widest);
    const oVals = new Float64Array(widest);
    for (let l = 0; l < L; l++) {
      let nC = 0;
      let nO = 0;
      let sumC = 0;
      let sumO = 0;
      for (let j = cols.colPtr[l]; j < cols.colPtr[l + 1]; j++) {
        const g = group[cols.token[j]];
        const v = cols.value[j];
        if (g === 1) {
          cVals[nC++] = v;
          sumC += v;
        } else if (g === 0) {
          oVals[nO++] = v;
          sumO += v;
        }
      }
      support[l] = nC;
      const f = nC + nO;
      if (f < 2) continue;
      tested++;
      const total = sumC + sumO;
      const observed = ratioScore(sumC, nC, total, f);
      score[l] = observed;
      permutationsUsed[l] = permutations;
      if (observed <= 0) {
        p[l] = 1;
      } else {
        const bar = observed - TIE_SLACK * observed;
        let run = { exceed: exceedances(cols, l, group, perm, total, f, bar, sum, cnt), permutations };
        if (run.exceed < REFINE_STOP && maxPermutations > permutations) {
          const values = new Float64Array(f);
          values.set(cVals.subarray(0, nC));
          values.set(oVals.subarray(0, nO), nC);
          run = refine({ values, total }, n, nConcept, lnFact, bar, run, REFINE_STOP, maxPermutations, new Rng(latentSeed(seed, l)));
        }
        p[l] = (1 + run.exceed) / (1 + run.permutations);
        permutationsUsed[l] = run.permutations;
      }
      // rankBiserial sorts its inputs in place: after the refinement copied them.
      effect[l] = rankBiserial(cVals.subarray(0, nC), nConcept, oVals.subarray(0, nO), nOther);
    }
  }
  return { nConcept, nOther, permutations, maxPermutations, tested, permutationsUsed, score, support, effect, p, q: benjaminiHochberg(p) };
}
