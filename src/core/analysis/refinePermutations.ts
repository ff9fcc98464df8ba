import type { Rng } from '../rng';
import { assignmentDuals, rowMaxDuals } from './assignmentBound';
import type { BlockScheme } from './blockScheme';

/**
 * More permutations for one latent, from the same block scheme as the shared ones (blockScheme.ts)
 * but computed from the latent's firing tokens only. If slot k of the permuted sequence carries the
 * labels of block σ(k), the latent's concept sum is
 *   S(σ) = S_fixed + Σ_k sum[σ(k)][k],
 *   sum[b][k] = Σ_o x(slot k, offset o) · label(block b, offset o),
 * what block b's labels pick out of slot k's activations (S_fixed: the head and tail, never moved);
 * the support likewise from count[b][k], with 1 for every firing token. sum[b][k] is 0 unless block b
 * holds a concept label and slot k a firing token, so a draw only needs where the concept blocks
 * land (one partial Fisher–Yates step each), or — when the latent fires in fewer slots than there
 * are concept blocks — which blocks land in its firing slots: the same uniform random map seen from
 * the smaller side. These "drivers" are drawn largest possible contribution first, and a draw stops
 * as soon as both whether it counts (support ≥ minSupport) and whether it exceeds (S ≥ bar) are
 * decided: for a latent far in the tail that is after a driver or two.
 */
/**
 * Above this many steps (drivers² × targets, ~0.2 s) the bound uses row maxima instead of the
 * Hungarian potentials; below it they pay for themselves on a latent that runs to the cap.
 */
const HUNGARIAN_WORK = 2e8;

export interface LatentBlocks {
  /** Blocks (= slots) of the scheme: what each driver is mapped to. */
  targets: number;
  /** Drivers with a non-zero entry, in draw order. */
  drivers: number;
  sum: Float64Array; // [drivers × targets]
  count: Int32Array; // [drivers × targets]
  fixedSum: number;
  fixedCount: number;
  /**
   * Bounds on what the rest of a draw can add (assignmentBound.ts): drivers i.. at most
   * restU[i] + Σ V over the targets still free; their count at most restMaxCount[i].
   */
  restU: Float64Array; // [drivers + 1]
  v: Float64Array; // [targets]
  restMaxCount: Int32Array; // [drivers + 1]
}

/** The latent's firing tested tokens: tested positions (ascending) and activations. */
export interface LatentSample {
  positions: Int32Array; // [f]
  values: Float64Array; // [f]
}

/** For every offset within a block, the concept blocks with a concept label there (CSR over offsets). */
export interface ConceptOffsets {
  /** Block index of each concept block [blocks]. */
  blocks: Int32Array;
  ptr: Int32Array; // [length + 1]
  block: Int32Array; // concept-block indices into `blocks`
}

export function conceptOffsets(scheme: BlockScheme): ConceptOffsets {
  const { labels, length: B, count, head } = scheme;
  const index = new Int32Array(count).fill(-1);
  const blocks: number[] = [];
  for (let k = 0; k < count; k++) for (let o = 0; o < B && index[k] < 0; o++) if (labels[head + k * B + o]) index[k] = blocks.push(k) - 1;
  const byOffset: number[][] = Array.from({ length: B }, () => []);
  for (let k = 0; k < count; k++) if (index[k] >= 0) for (let o = 0; o < B; o++) if (labels[head + k * B + o]) byOffset[o].push(index[k]);
  const ptr = new Int32Array(B + 1);
  byOffset.forEach((js, o) => (ptr[o + 1] = ptr[o] + js.length));
  return { blocks: Int32Array.from(blocks), ptr, block: Int32Array.from(byOffset.flat()) };
}

/**
 * `tight`: bound by the Hungarian potentials (worth their O(drivers²·targets) for a latent far in the
 * tail, which runs to the cap) instead of row maxima (enough for one that soon reaches REFINE_STOP).
 */
export function latentBlocks(scheme: BlockScheme, offsets: ConceptOffsets, sample: LatentSample, tight: boolean): LatentBlocks {
  const { labels, length: B, count: nb, head } = scheme;
  const nJ = offsets.blocks.length;
  const end = head + nb * B;
  // Concept block j × slot k.
  const sum = new Float64Array(nJ * nb);
  const count = new Int32Array(nJ * nb);
  const slotFires = new Uint8Array(nb);
  let fixedSum = 0;
  let fixedCount = 0;
  for (let f = 0; f < sample.positions.length; f++) {
    const i = sample.positions[f];
    const v = sample.values[f];
    if (i < head || i >= end) {
      if (labels[i]) {
        fixedSum += v;
        fixedCount++;
      }
      continue;
    }
    const k = ((i - head) / B) | 0;
    const o = (i - head) % B;
    for (let a = offsets.ptr[o]; a < offsets.ptr[o + 1]; a++) {
      const at = offsets.block[a] * nb + k;
      sum[at] += v;
      count[at]++;
      slotFires[k] = 1;
    }
  }
  const firingSlots: number[] = [];
  slotFires.forEach((x, k) => x && firingSlots.push(k));
  // Drivers: the concept blocks (entries over slots), or the firing slots (entries over blocks).
  const bySlot = firingSlots.length < nJ;
  const rows = bySlot ? firingSlots : Array.from({ length: nJ }, (_, j) => j).filter((j) => count.subarray(j * nb, (j + 1) * nb).some((c) => c > 0));
  const d = rows.length;
  const rowSum = new Float64Array(d * nb);
  const rowCount = new Int32Array(d * nb);
  const conceptRow = new Int32Array(nb).fill(-1);
  offsets.blocks.forEach((b, j) => (conceptRow[b] = j));
  rows.forEach((r, i) => {
    for (let t = 0; t < nb; t++) {
      // bySlot: driver = slot r, target = block t; else driver = concept block r, target = slot t.
      const j = bySlot ? conceptRow[t] : r;
      const k = bySlot ? r : t;
      if (j < 0) continue;
      rowSum[i * nb + t] = sum[j * nb + k];
      rowCount[i * nb + t] = count[j * nb + k];
    }
  });
  const duals = tight && d * d * nb <= HUNGARIAN_WORK ? assignmentDuals(rowSum, d, nb) : rowMaxDuals(rowSum, d, nb);
  const rowMaxCount = new Int32Array(d);
  const reduced = new Float64Array(d); // mean of U_i + V_t − value over targets: what drawing driver i takes off the bound, on average
  let vMean = 0;
  for (let t = 0; t < nb; t++) vMean += duals.v[t] / nb;
  for (let i = 0; i < d; i++) {
    let total = 0;
    for (let t = 0; t < nb; t++) {
      rowMaxCount[i] = Math.max(rowMaxCount[i], rowCount[i * nb + t]);
      total += rowSum[i * nb + t];
    }
    reduced[i] = duals.u[i] + vMean - total / nb;
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((a, b) => reduced[b] - reduced[a] || a - b);
  const sorted = new Float64Array(d * nb);
  const sortedCount = new Int32Array(d * nb);
  const restU = new Float64Array(d + 1);
  const restMaxCount = new Int32Array(d + 1);
  order.forEach((i, r) => {
    sorted.set(rowSum.subarray(i * nb, (i + 1) * nb), r * nb);
    sortedCount.set(rowCount.subarray(i * nb, (i + 1) * nb), r * nb);
  });
  for (let r = d - 1; r >= 0; r--) {
    restU[r] = restU[r + 1] + duals.u[order[r]];
    restMaxCount[r] = restMaxCount[r + 1] + rowMaxCount[order[r]];
  }
  return { targets: nb, drivers: d, sum: sorted, count: sortedCount, fixedSum, fixedCount, restU, v: duals.v, restMaxCount };
}

export interface Refinement {
  /** Counted permutations (support ≥ minSupport) whose sum reaches the bar. */
  exceed: number;
  /** Counted permutations. */
  permutations: number;
  /** Permutations drawn, counted or not. */
  draws: number;
}

/**
 * Continues a latent's permutation test from `start` until `stopAt` exceedances, `max` counted
 * permutations or `maxDraws` draws. A draw counts when its support is ≥ minSupport (the test is
 * conditional on the latent having been tested) and exceeds when it also has S ≥ bar.
 */
export function refine(lb: LatentBlocks, bar: number, minSupport: number, start: Refinement, stopAt: number, max: number, maxDraws: number, rng: Rng): Refinement {
  const { targets: nb, drivers: rows, sum, count, fixedSum, fixedCount, restU, v, restMaxCount } = lb;
  const slots = Int32Array.from({ length: nb }, (_, k) => k);
  let vTotal = 0;
  for (let t = 0; t < nb; t++) vTotal += v[t];
  let { exceed, permutations, draws } = start;
  while (exceed < stopAt && permutations < max && draws < maxDraws) {
    draws++;
    let s = fixedSum;
    let c = fixedCount;
    let vFree = vTotal;
    let r = 0;
    for (; r < rows; r++) {
      const pick = r + rng.int(nb - r);
      const k = slots[pick];
      slots[pick] = slots[r];
      slots[r] = k;
      s += sum[r * nb + k];
      c += count[r * nb + k];
      vFree -= v[k];
      const reachable = c + restMaxCount[r + 1] >= minSupport;
      if (!reachable || (c >= minSupport && s + restU[r + 1] + vFree < bar)) break;
    }
    if (c < minSupport) continue; // not counted
    permutations++;
    if (r === rows && s >= bar) exceed++;
  }
  return { exceed, permutations, draws };
}
