/**
 * The activations training reads, x [T, dIn] (row t belonging to token t): in memory, or in shards on
 * disk (src/core/corpus/shards.ts) read a batch at a time, so a corpus never has to fit in memory.
 */
import { throwIfAborted, UserError } from '../errors';
import type { SaeShape } from './config';
import { totalVarianceOf } from './metrics';

export interface RowSource {
  readonly T: number;
  readonly dIn: number;
  /** Rows [from, from + n): a view, valid until the next call. */
  range(from: number, n: number): Float32Array;
  /** Rows order[from], …, order[from + n − 1] into `out`, in that order; returns out's first n rows. */
  gather(order: Int32Array, from: number, n: number, out: Float32Array): Float32Array;
  /** Names row t in messages, e.g. "token 12 of notes/a.md". */
  describe(t: number): string;
  /** Set when the rows are held in memory (memoryRows), so reading them costs no I/O. */
  readonly resident?: boolean;
}

/** x [T, dIn] in memory. */
export function memoryRows(x: Float32Array, T: number, dIn: number): RowSource {
  return {
    T,
    dIn,
    range: (from, n) => x.subarray(from * dIn, (from + n) * dIn),
    gather(order, from, n, out) {
      for (let r = 0; r < n; r++) out.set(x.subarray(order[from + r] * dIn, (order[from + r] + 1) * dIn), r * dIn);
      return out.subarray(0, n * dIn);
    },
    describe: (t) => `token ${t}`,
    resident: true,
  };
}

/** The rows of `src` held in memory: `src` itself when they already are, else a copy read PASS_ROWS at a time. */
export function residentRows(src: RowSource): RowSource {
  if (src.resident) return src;
  const { T, dIn } = src;
  const x = new Float32Array(T * dIn);
  for (let from = 0; from < T; from += PASS_ROWS) x.set(src.range(from, Math.min(PASS_ROWS, T - from)), from * dIn);
  return { ...memoryRows(x, T, dIn), describe: src.describe };
}

/** Rows per read of a sequential pass. */
const PASS_ROWS = 1024;

/**
 * Checks rows against the SAE's shape and returns their total variance Σ_t ‖x_t − x̄‖² (x̄ the mean
 * token; metrics.ts totalVarianceOf: the same number wherever the rows are stored). UserErrors name
 * the first bad token.
 */
export function checkRows(src: RowSource, shape: SaeShape, signal?: AbortSignal): number {
  const { T, dIn } = src;
  if (dIn !== shape.dIn) {
    throw new UserError(`the activations have ${dIn} features per token but the SAE is set up for d_in ${shape.dIn}; train on the hook the settings name, or change the hook/preset to match the activations.`, 'E_DIN');
  }
  if (!(Number.isInteger(T) && T >= 2)) throw new UserError(`training needs at least 2 tokens, got ${T}; give a longer text.`, 'E_TOKENS');
  const s = totalVarianceOf(T, dIn, PASS_ROWS, (from, n) => src.range(from, n), (x, from) => {
    throwIfAborted(signal, 'training');
    for (let j = 0; j < x.length; j++) {
      if (!Number.isFinite(x[j])) {
        throw new UserError(`the activations of ${src.describe(from + Math.floor(j / dIn))} contain ${x[j]} (feature ${j % dIn}); they must all be finite numbers. Re-extract them, or check the model's weights.`, 'E_NONFINITE');
      }
    }
  });
  if (s === 0) throw new UserError(`all ${T} tokens have identical activations, so there is nothing to learn; give a text with varied tokens.`, 'E_TOKENS');
  return s;
}
