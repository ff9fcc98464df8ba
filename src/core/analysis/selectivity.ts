import { Rng } from '../rng';
import { benjaminiHochberg } from './benjaminiHochberg';
import { blockScheme, blockShape, type BlockShape } from './blockScheme';
import type { LatentColumns } from './columns';
import { permuteLabels, type PermutedLabels } from './permutedLabels';
import { rankBiserial } from './rankBiserial';
import { conceptOffsets, latentBlocks, refine, type Refinement } from './refinePermutations';

/**
 * Concept selectivity of every latent over the tested tokens (`group` [T]: 1 concept, 0 other —
 * every non-concept token, or a contrast list — and −1 outside the test). Activations are taken with
 * zeros included (a token where the latent is silent counts 0) except in the lab's score.
 *
 * score (the lab's, reported, not tested): mean of the latent's non-zero activations on concept tokens
 *   ÷ mean of its non-zero activations on the other tokens; 0 when it never fires on a concept token,
 *   NaN ("only on concept tokens": the ratio is undefined) when it fires on concept tokens only.
 * support: concept tokens where the latent fires.
 * diff: mean activation on concept tokens − mean activation on the other tested tokens (zeros
 *   included): the test statistic, defined for every latent, concept-only ones included.
 * effect: rank-biserial correlation, zeros included (rankBiserial.ts).
 * Tested: the latents that can pass, support ≥ minSupport; they are the m of Benjamini–Hochberg.
 * p: one-sided permutation p-value of diff. The permutations re-order blocks of consecutive tested
 *   tokens (blockScheme.ts): concept runs and neighbouring activations stay together, which is what
 *   makes p honest on autocorrelated text. Every permutation keeps the concept count, so diff is an
 *   increasing function of S = Σ activations on concept-labelled tokens and the test compares S.
 *   Because a latent is tested only when its support is ≥ minSupport — a choice that depends on the
 *   labels — the test is conditional on that choice: only permutations under which the latent's
 *   support is also ≥ minSupport count,
 *     p = (1 + #{counted permutations with S ≥ observed}) / (1 + #counted).
 *   (Without the condition a latent firing on three tokens, two of them concept tokens, would get
 *   p ≈ 0.01 from the selection alone.) Every latent gets the same P shared permutations; one with
 *   fewer than REFINE_STOP exceedances among them gets more, drawn on its own from the same scheme
 *   (refinePermutations.ts), until REFINE_STOP exceedances, maxPermutations counted or
 *   DRAW_FACTOR·maxPermutations drawn; its count includes them all. The default cap is
 *   ⌈CAP_FACTOR·m / α⌉ (at least P, at most AUTO_CAP_LIMIT): a latent that no permutation reaches then
 *   gets p < α / (CAP_FACTOR·m) and q < α / CAP_FACTOR even alone (0.005 at α = 0.05) — as long as
 *   most draws count, which holds for any latent firing well beyond its concept tokens; one whose
 *   support rarely reaches minSupport under permutation stops at the draw limit with fewer counted
 *   permutations and a larger p, which is what its few firings are worth. (Valid: below
 *   (1 + REFINE_STOP)/(1 + P) this is Besag–Clifford's sequential test made more conservative; above
 *   it, p can only be ≤ α where the fixed-P p-value is.)
 * q: Benjamini–Hochberg over the tested latents. Untested latents have NaN p and q.
 */
export interface Selectivity {
  nConcept: number;
  nOther: number;
  /** Shared permutations P. */
  permutations: number;
  minSupport: number;
  tested: number;
  /** Refinement cap used (counted permutations). */
  maxPermutations: number;
  /** The permutation scheme; null when the test did not run (no concept or no other token). */
  scheme: BlockShape | null;
  /** Counted permutations behind each tested latent's p (P or fewer, more when refined), 0 when untested. */
  permutationsUsed: Int32Array; // [nLatents]
  score: Float64Array; // [nLatents]
  support: Int32Array; // [nLatents]
  diff: Float64Array; // [nLatents]
  effect: Float64Array; // [nLatents]
  p: Float64Array; // [nLatents]
  q: Float64Array; // [nLatents]
}

/** The default refinement cap never exceeds this, however small α is. */
const AUTO_CAP_LIMIT = 2_000_000;
export const CAP_FACTOR = 10;
/** A refinement stops after this many draws per counted permutation of the cap. */
export const DRAW_FACTOR = 4;

/** Refinement stops once this many permutations reach the observed sum. */
export const REFINE_STOP = 10;

/** Relative slack when comparing a permuted sum with the observed one: the two sum in different orders. */
const TIE_SLACK = 1e-9;

/** The lab's score from the latent's non-zero activations on each side. */
function ratioScore(sumC: number, nC: number, sumO: number, nO: number): number {
  if (nC === 0) return 0;
  if (nO === 0) return NaN;
  return sumO > 0 ? sumC / nC / (sumO / nO) : 0;
}

/** Shared permutations that count (support ≥ minSupport) and, of those, the ones whose sum reaches `bar`; sum/cnt are [P] scratch. */
function sharedRun(
  cols: LatentColumns,
  l: number,
  group: Int8Array,
  perm: PermutedLabels,
  total: number,
  firing: number,
  minSupport: number,
  bar: number,
  sum: Float64Array,
  cnt: Int32Array,
): Refinement {
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
  let counted = 0;
  for (let p = 0; p < P; p++) {
    const support = storesConcept ? cnt[p] : firing - cnt[p];
    if (support < minSupport) continue;
    counted++;
    if ((storesConcept ? sum[p] : total - sum[p]) >= bar) exceed++;
  }
  return { exceed, permutations: counted, draws: P };
}

/** Seed of one latent's refinement stream, so results do not depend on the order latents are processed in. */
function latentSeed(seed: number, latent: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(latent + 1, 0x9e3779b1)) >>> 0;
}

export interface PermutationPlan {
  /** Shared permutations. */
  permutations: number;
  /** Refinement cap in counted permutations; undefined: ⌈CAP_FACTOR·m / α⌉ (at least `permutations`, at most AUTO_CAP_LIMIT). */
  maxPermutations?: number;
  alpha: number;
  seed: number;
  /** Latents with support below this are not tested. */
  minSupport: number;
  /** Overrides the block length of the scheme (1 = token by token); undefined: chosen from the data. */
  blockLength?: number;
}

export function conceptSelectivity(cols: LatentColumns, group: Int8Array, plan: PermutationPlan): Selectivity {
  const L = cols.nLatents;
  const { permutations, seed, minSupport } = plan;
  let nConcept = 0;
  let nOther = 0;
  for (let t = 0; t < group.length; t++) {
    if (group[t] === 1) nConcept++;
    else if (group[t] === 0) nOther++;
  }
  const score = new Float64Array(L);
  const support = new Int32Array(L);
  const diff = new Float64Array(L).fill(NaN);
  const effect = new Float64Array(L).fill(NaN);
  const p = new Float64Array(L).fill(NaN);
  const permutationsUsed = new Int32Array(L);
  const observed = new Float64Array(L); // S: Σ activations on concept tokens
  const total = new Float64Array(L); // Σ activations on tested tokens
  const firing = new Int32Array(L); // tested tokens where it fires
  let tested = 0;
  if (!(nConcept > 0 && nOther > 0)) {
    const maxPermutations = plan.maxPermutations ?? permutations;
    return { nConcept, nOther, permutations, minSupport, tested, maxPermutations, scheme: null, permutationsUsed, score, support, diff, effect, p, q: benjaminiHochberg(p) };
  }
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
    firing[l] = nC + nO;
    observed[l] = sumC;
    total[l] = sumC + sumO;
    score[l] = ratioScore(sumC, nC, sumO, nO);
    diff[l] = sumC / nConcept - sumO / nOther;
    effect[l] = rankBiserial(cVals.subarray(0, nC), nConcept, oVals.subarray(0, nO), nOther);
    if (nC >= minSupport) tested++;
  }
  const isTested = (l: number) => support[l] >= minSupport;
  const maxPermutations = plan.maxPermutations ?? Math.max(permutations, Math.min(AUTO_CAP_LIMIT, Math.ceil((CAP_FACTOR * tested) / plan.alpha)));
  const scheme = blockScheme(cols, group, isTested, plan.blockLength);
  const perm = permuteLabels(scheme, group.length, permutations, seed);
  const offsets = conceptOffsets(scheme);
  const sum = new Float64Array(permutations);
  const cnt = new Int32Array(permutations);
  for (let l = 0; l < L; l++) {
    if (!isTested(l)) continue;
    const bar = observed[l] - TIE_SLACK * Math.abs(observed[l]);
    let run = sharedRun(cols, l, group, perm, total[l], firing[l], minSupport, bar, sum, cnt);
    if (run.exceed < REFINE_STOP && run.permutations < maxPermutations) {
      const positions = new Int32Array(firing[l]);
      const values = new Float64Array(firing[l]);
      let f = 0;
      for (let j = cols.colPtr[l]; j < cols.colPtr[l + 1]; j++) {
        const i = scheme.positionOf[cols.token[j]];
        if (i < 0) continue;
        positions[f] = i;
        values[f++] = cols.value[j];
      }
      const blocks = latentBlocks(scheme, offsets, { positions, values }, run.exceed === 0);
      run = refine(blocks, bar, minSupport, run, REFINE_STOP, maxPermutations, DRAW_FACTOR * maxPermutations, new Rng(latentSeed(seed, l)));
    }
    p[l] = (1 + run.exceed) / (1 + run.permutations);
    permutationsUsed[l] = run.permutations;
  }
  return { nConcept, nOther, permutations, minSupport, tested, maxPermutations, scheme: blockShape(scheme), permutationsUsed, score, support, diff, effect, p, q: benjaminiHochberg(p) };
}
