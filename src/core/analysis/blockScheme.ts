import type { LatentColumns } from './columns';

/**
 * How the concept test permutes its labels. Tokens are not exchangeable: a multi-token name is a run
 * of concept tokens, and a latent's activations on neighbouring tokens are alike. Shuffling labels
 * token by token breaks the runs apart and so underestimates how far a latent's concept-token sum
 * swings by chance: p-values come out too small. Instead the tested tokens (in document order) are cut
 * into `count` blocks of `length` consecutive tokens, and a permutation re-orders the blocks, each
 * keeping its labels in order; the `head` tokens before the first block and the tail after the last
 * (together fewer than `length`) keep theirs. Every permutation keeps the concept count, every run
 * inside a block, and the dependence between neighbours up to the block length.
 *
 * length: the largest of MIN_LENGTH, the longest concept run, and the integrated autocorrelation
 *   time (1 + ρ)/(1 − ρ) of an AR(1) with ρ = the AUTOCORRELATION_QUANTILE of the tested latents'
 *   lag-1 autocorrelations (zeros included), capped so there are at least MIN_BLOCKS blocks.
 *   Fewer than 2·MIN_BLOCKS tested tokens: length 1, an ordinary shuffle of single tokens.
 * head: among 0..(tested − count·length), the one whose block edges cut the fewest concept runs
 *   (the smallest on ties).
 * Distinct permutations: count! orderings of the blocks. Blocks without a concept token are alike,
 * so the distinct label sequences number at least C(count, c), the ways to choose the slots of the c
 * blocks holding concept tokens: 1024 tokens in 128 blocks with 20 of them holding concept tokens
 * give C(128, 20) ≈ 10²⁴, far beyond any permutation budget (a circular shift would give 1023). When
 * the concept tokens sit in a few blocks the count is small, and so is the evidence: the exact
 * permutation p-value is then at least about 1 / C(count, c), however many permutations are drawn.
 */
export interface BlockShape {
  length: number;
  count: number;
  head: number;
  /** The lag-1 autocorrelation (quantile over the tested latents) the length was chosen from; 0 when there was none to measure. */
  autocorrelation: number;
  longestRun: number;
  /** Concept runs a block edge cuts (0 unless a run is longer than a block or no head avoids it). */
  cutRuns: number;
}

export interface BlockScheme extends BlockShape {
  /** Tested token indices in document order [n]. */
  positions: Int32Array;
  /** Concept label per tested position [n]: 1 concept, 0 other. */
  labels: Uint8Array;
  /** Tested position of every token [T], −1 when untested. */
  positionOf: Int32Array;
}

/** The scheme's numbers without its arrays: what the report records. */
export function blockShape({ length, count, head, autocorrelation, longestRun, cutRuns }: BlockShape): BlockShape {
  return { length, count, head, autocorrelation, longestRun, cutRuns };
}

export const MIN_BLOCKS = 32;
export const MIN_LENGTH = 8;
export const AUTOCORRELATION_QUANTILE = 0.9;

/** Lag-1 autocorrelation of latent l over the tested positions, silent positions counting 0; NaN when constant. */
export function lagOneAutocorrelation(cols: LatentColumns, l: number, positionOf: Int32Array, n: number): number {
  let sum = 0;
  let sq = 0;
  let lag = 0;
  let first = 0;
  let last = 0;
  let prevPos = -2;
  let prevVal = 0;
  for (let j = cols.colPtr[l]; j < cols.colPtr[l + 1]; j++) {
    const i = positionOf[cols.token[j]];
    if (i < 0) continue;
    const v = cols.value[j];
    sum += v;
    sq += v * v;
    if (i === prevPos + 1) lag += prevVal * v;
    if (i === 0) first = v;
    if (i === n - 1) last = v;
    prevPos = i;
    prevVal = v;
  }
  const mean = sum / n;
  const varSum = sq - n * mean * mean;
  if (!(varSum > 1e-12 * sq)) return NaN;
  // Σ_{i<n−1} (x_i − μ)(x_{i+1} − μ) = lag − μ·(2·sum − first − last) + (n − 1)·μ²
  return (lag - mean * (2 * sum - first - last) + (n - 1) * mean * mean) / varSum;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Maximal runs [start, end) of concept labels. */
function conceptRuns(labels: Uint8Array): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    const start = i;
    while (i + 1 < labels.length && labels[i + 1] === 1) i++;
    runs.push([start, i + 1]);
  }
  return runs;
}

/** Runs cut by an edge head + k·length, k = 0..count. */
function cutsAt(runs: [number, number][], head: number, length: number, count: number): number {
  let cuts = 0;
  for (const [a, b] of runs) {
    // The first edge after a: is it before b (and not past the last edge)?
    const k = Math.max(0, Math.floor((a - head) / length) + 1);
    if (k <= count && head + k * length < b) cuts++;
  }
  return cuts;
}

/**
 * The scheme for `group` [T] (1 concept, 0 other, −1 untested); `tested(l)` picks the latents whose
 * autocorrelation sets the length. `length` overrides the choice (tests; 1 = token by token).
 */
export function blockScheme(cols: LatentColumns, group: Int8Array, tested: (l: number) => boolean, length?: number): BlockScheme {
  const pos: number[] = [];
  const positionOf = new Int32Array(group.length).fill(-1);
  group.forEach((g, t) => {
    if (g >= 0) positionOf[t] = pos.push(t) - 1;
  });
  const n = pos.length;
  const positions = Int32Array.from(pos);
  const labels = Uint8Array.from(pos, (t) => group[t]);
  const runs = conceptRuns(labels);
  const longestRun = runs.reduce((m, [a, b]) => Math.max(m, b - a), 0);
  const rhos: number[] = [];
  if (length === undefined && n >= 2 * MIN_BLOCKS) {
    for (let l = 0; l < cols.nLatents; l++) {
      if (!tested(l)) continue;
      const r = lagOneAutocorrelation(cols, l, positionOf, n);
      if (!Number.isNaN(r)) rhos.push(r);
    }
  }
  const rho = Math.min(0.99, Math.max(0, quantile(rhos, AUTOCORRELATION_QUANTILE)));
  const maxLength = Math.floor(n / MIN_BLOCKS);
  const chosen = length ?? (maxLength < 2 ? 1 : Math.min(maxLength, Math.max(MIN_LENGTH, longestRun, Math.ceil((1 + rho) / (1 - rho)))));
  const B = Math.max(1, Math.min(chosen, Math.max(1, n)));
  const count = Math.floor(n / B);
  let head = 0;
  let cutRuns = B === 1 ? 0 : Infinity;
  for (let h = 0; B > 1 && h <= n - count * B; h++) {
    const c = cutsAt(runs, h, B, count);
    if (c < cutRuns) {
      cutRuns = c;
      head = h;
    }
  }
  return { positions, labels, positionOf, length: B, count, head, autocorrelation: rho, longestRun, cutRuns };
}
