import { throwIfAborted, UserError } from '../errors';
import { Rng } from '../rng';
import { RUN_FORMAT_VERSION, type EpochMetrics, type TrainedMetrics } from '../run/format';
import { initWeights } from './init';
import { codeStats, deadFraction, fve, offDiagonalCovSq, totalVariance } from './metrics';
import { createTfjsEngine, tfjsGpuAvailable } from './tfjsEngine';
import { checkShape, checkTrainFields, type SaeConfig, type SaeShape } from './config';
import type { EngineOptions, SaeHyper, SparseCodes, TrainEngine } from './types';

export type EngineChoice = 'auto' | 'ort' | 'tfjs';
export const ENGINE_CHOICES: EngineChoice[] = ['auto', 'ort', 'tfjs'];

/** torch.optim.Adam's defaults. */
export const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

export interface TrainOptions {
  engine?: EngineChoice;
  /** Intra-op threads of the CPU engine; undefined: onnxruntime's choice (one per physical core). */
  threads?: number;
  /** After each epoch; etaMs estimates the time left. */
  onProgress?: (epoch: number, epochs: number, metrics: EpochMetrics, etaMs: number) => void;
  /** After each step (one batch) of an epoch of `steps`. */
  onStep?: (step: number, steps: number) => void;
  /** Checked before every step and every encode chunk; aborting throws CancelledError. */
  signal?: AbortSignal;
}

export interface TrainResult {
  /** Trained W [dIn, nLatents]. */
  w: Float32Array;
  /** Final codes of every token (rows in token order). */
  codes: SparseCodes;
  metrics: TrainedMetrics;
}

function intAtLeast(v: number, min: number): boolean {
  return Number.isInteger(v) && v >= min;
}

/** Checks activations x [T, dIn] against the config; throws a UserError naming the first bad token. */
export function validateActivations(x: Float32Array, T: number, dIn: number, shape: SaeShape): void {
  if (dIn !== shape.dIn) {
    throw new UserError(`the activations have ${dIn} features per token but the SAE is set up for d_in ${shape.dIn}; train on the hook the settings name, or change the hook/preset to match the activations.`, 'E_DIN');
  }
  if (!intAtLeast(T, 2)) throw new UserError(`training needs at least 2 tokens, got ${T}; give a longer text.`, 'E_TOKENS');
  if (x.length !== T * dIn) throw new UserError(`the activations hold ${x.length} values, not ${T} tokens × ${dIn} features = ${T * dIn}; the file or extraction is inconsistent.`, 'E_DIN');
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      const t = Math.floor(i / dIn);
      throw new UserError(`the activations of token ${t} contain ${x[i]} (feature ${i % dIn}); they must all be finite numbers. Re-extract them, or check the model's weights.`, 'E_NONFINITE');
    }
  }
  if (totalVariance(x, T, dIn) === 0) throw new UserError(`all ${T} tokens have identical activations, so there is nothing to learn; give a text with varied tokens.`, 'E_TOKENS');
}

/** Rejects a bad engine or threads option. */
export function validateTrainOptions(o: TrainOptions): void {
  if (o.threads !== undefined && !intAtLeast(o.threads, 1)) throw new UserError(`threads must be a positive integer, got ${o.threads}.`, 'E_USAGE');
  if (o.engine !== undefined && !ENGINE_CHOICES.includes(o.engine)) {
    throw new UserError(`unknown engine "${o.engine}"; choose one of ${ENGINE_CHOICES.join(', ')}.`, 'E_USAGE');
  }
}

/** `auto` is tfjs only when tfjs-node-gpu loads and sees a GPU; otherwise ort. */
export async function createEngine(choice: EngineChoice, opts: EngineOptions): Promise<TrainEngine> {
  if (choice === 'tfjs' || (choice === 'auto' && (await tfjsGpuAvailable()))) return createTfjsEngine(opts);
  // Loaded on use: a tfjs run never needs onnxruntime's native binding.
  const { createOrtEngine } = require('./ortEngine') as typeof import('./ortEngine');
  return createOrtEngine(opts);
}

/**
 * Lets timers and signals (Ctrl-C, a cancel button) run between steps: an engine whose step
 * resolves through microtasks only (tfjs on its cpu backend) would otherwise starve them until the end.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Token order of each epoch: identity for one full batch, a seeded shuffle for minibatches. */
interface Batching {
  /**
   * Batch sizes of an epoch, balanced (they differ by at most 1) and none smaller than 2, since the
   * covariance term needs n − 1 > 0; so with a limit of 2 and an odd count, one batch holds 3.
   */
  sizes: number[];
  describe: string;
  /** The next epoch's token order (undefined: as given). */
  order(): Int32Array | undefined;
}

export function planBatches(T: number, maxBatch: number, seed: number): Batching {
  if (T <= maxBatch) return { sizes: [T], describe: `full batch of ${T} tokens`, order: () => undefined };
  const nb = Math.min(Math.ceil(T / maxBatch), Math.floor(T / 2));
  const sizes = Array.from({ length: nb }, (_, b) => Math.floor(((b + 1) * T) / nb) - Math.floor((b * T) / nb));
  // A stream of its own, so the shuffles do not depend on how many values the init drew.
  const rng = new Rng((seed ^ 0x5eed5eed) >>> 0);
  const perm = Int32Array.from({ length: T }, (_, i) => i);
  return {
    sizes,
    describe: `${nb} shuffled minibatches of ≤ ${Math.max(...sizes)} tokens per epoch (${T} tokens > batch limit ${maxBatch}; shuffle seed ${seed})`,
    order: () => rng.shuffle(perm),
  };
}

/** Copies rows `order[from..from+n)` of x [T, dIn] into buf. */
function gather(x: Float32Array, dIn: number, order: Int32Array, from: number, n: number, buf: Float32Array): Float32Array {
  for (let r = 0; r < n; r++) buf.set(x.subarray(order[from + r] * dIn, (order[from + r] + 1) * dIn), r * dIn);
  return buf.subarray(0, n * dIn);
}

/** What training reads of an SaeConfig besides its sizes (pass the whole config). */
export type TrainFields = Pick<SaeConfig, 'l1' | 'decor' | 'lr' | 'epochs' | 'seed' | 'batchTokens' | 'auxk'>;

/**
 * Trains a Top-K tied SAE of `shape` (an SaeConfig's sizes on this hook, saeShape) on x [T, dIn];
 * see types.ts for the model and objective. Everything is
 * validated before any work. Each epoch is one full batch, or shuffled minibatches when
 * T > cfg.batchTokens; the epoch's loss terms, MSE and L0 are token-weighted means of its batches
 * (measured before each update), its FVE uses the data's mean token. Final metrics come from a
 * forward pass over every token with the trained W.
 */
export async function trainSae(x: Float32Array, T: number, dIn: number, shape: SaeShape, cfg: TrainFields, opts: TrainOptions = {}): Promise<TrainResult> {
  checkShape(shape);
  checkTrainFields(cfg);
  validateTrainOptions(opts);
  const { nLatents } = shape;
  validateActivations(x, T, dIn, shape);
  throwIfAborted(opts.signal, 'training');

  const t0 = performance.now();
  const batching = planBatches(T, cfg.batchTokens, cfg.seed);
  const B = Math.max(...batching.sizes);
  // AuxK's dead latents are those that fired on none of the last epoch's tokens: the window of dead_fraction.
  const hyper: SaeHyper = { ...shape, l1: cfg.l1, decor: cfg.decor, lr: cfg.lr, ...ADAM, auxk: cfg.auxk, deadTokens: T };
  const sst = totalVariance(x, T, dIn);
  const engine = await createEngine(opts.engine ?? 'auto', { hyper, w0: initWeights(dIn, nLatents, cfg.seed), threads: opts.threads });
  try {
    const tTrain = performance.now();
    const buf = B < T ? new Float32Array(B * dIn) : x;
    const curve: EpochMetrics[] = [];
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const e0 = performance.now();
      const order = batching.order();
      const sum = { loss: 0, mse: 0, l1: 0, decor: 0, auxk: 0, l0: 0, sse: 0 };
      const fired = new Uint8Array(nLatents);
      let from = 0;
      let step = 0;
      for (const n of batching.sizes) {
        await yieldToEventLoop();
        throwIfAborted(opts.signal, 'training');
        const r = await engine.step(order ? gather(x, dIn, order, from, n, buf) : x, n);
        for (const key of ['loss', 'mse', 'l1', 'decor', 'auxk', 'l0'] as const) sum[key] += r[key] * n;
        sum.sse += r.sse;
        for (let l = 0; l < fired.length; l++) fired[l] |= r.fired[l];
        from += n;
        opts.onStep?.(++step, batching.sizes.length);
      }
      const m: EpochMetrics = {
        epoch,
        loss: sum.loss / T,
        mse: sum.mse / T,
        l1: sum.l1 / T,
        decor: sum.decor / T,
        auxk: sum.auxk / T,
        fve: fve(sum.sse, sst),
        l0: sum.l0 / T,
        dead_fraction: deadFraction(fired),
        ms: performance.now() - e0,
      };
      curve.push(m);
      const msPerEpoch = (performance.now() - tTrain) / epoch;
      opts.onProgress?.(epoch, cfg.epochs, m, msPerEpoch * (cfg.epochs - epoch));
    }
    const trainMs = performance.now() - tTrain;

    const codes = await encodeAll(engine, x, T, dIn, B, opts.signal);
    const stats = codeStats(codes.codes, nLatents);
    const mse = codes.sse / (T * dIn);
    const l1 = stats.absSum / (T * nLatents);
    const decor = cfg.decor === 0 ? 0 : meanDecor(codes.codes, nLatents, batching.sizes, opts.signal);
    const w = await engine.weights();
    return {
      w,
      codes: codes.codes,
      metrics: {
        version: RUN_FORMAT_VERSION,
        curve,
        final: {
          loss: mse + cfg.l1 * l1 + cfg.decor * decor,
          mse,
          l1,
          decor,
          fve: fve(codes.sse, sst),
          l0: stats.l0,
          dead_fraction: stats.deadFraction,
          layer_density: 100 * (1 - stats.deadFraction),
        },
        ms_per_epoch: trainMs / cfg.epochs,
        total_ms: performance.now() - t0,
        engine: engine.kind,
        device: engine.device,
        batching: batching.describe,
      },
    };
  } finally {
    await engine.dispose();
  }
}

/** Forward pass over every token in chunks of ≤ B rows, in token order; codes joined into one CSR. */
async function encodeAll(engine: TrainEngine, x: Float32Array, T: number, dIn: number, B: number, signal?: AbortSignal): Promise<{ codes: SparseCodes; sse: number }> {
  const parts: SparseCodes[] = [];
  let sse = 0;
  for (let from = 0; from < T; from += B) {
    throwIfAborted(signal, 'training');
    const n = Math.min(B, T - from);
    const r = await engine.encode(x.subarray(from * dIn, (from + n) * dIn), n);
    parts.push(r.codes);
    sse += r.sse;
  }
  if (parts.length === 1) return { codes: parts[0], sse };
  const nnz = parts.reduce((s, p) => s + p.index.length, 0);
  const codes: SparseCodes = { rowPtr: new Int32Array(T + 1), index: new Int32Array(nnz), value: new Float32Array(nnz) };
  let row = 0;
  let off = 0;
  for (const p of parts) {
    codes.index.set(p.index, off);
    codes.value.set(p.value, off);
    for (let t = 1; t < p.rowPtr.length; t++) codes.rowPtr[row + t] = off + p.rowPtr[t];
    row += p.rowPtr.length - 1;
    off += p.index.length;
  }
  return { codes, sse };
}

/** Σ_{i≠j} Cov(z)² as in training: over the full batch, or the token-weighted mean over consecutive batches of the epoch's sizes. */
function meanDecor(codes: SparseCodes, nLatents: number, sizes: number[], signal?: AbortSignal): number {
  let from = 0;
  let sum = 0;
  for (const n of sizes) {
    throwIfAborted(signal, 'training');
    sum += n * offDiagonalCovSq(codes, nLatents, from, from + n);
    from += n;
  }
  return sum / from;
}
