import { throwIfAborted, UserError } from '../errors';
import { Rng } from '../rng';
import { RUN_FORMAT_VERSION, type EpochMetrics, type TrainedMetrics } from '../run/format';
import { initWeights } from './init';
import { codeStats, deadFraction, fve, offDiagonalCovSq } from './metrics';
import { checkRows, memoryRows, residentRows, type RowSource } from './rows';
import { budgetSpent, maxEpochs, stopAfterEpoch, type ScheduleDone } from './schedule';
import { createTfjsEngine, tfjsGpuAvailable } from './tfjsEngine';
import { checkShape, checkTrainFields, type SaeConfig, type SaeShape } from './config';
import type { EngineOptions, SaeHyper, SparseCodes, TrainEngine } from './types';

export type EngineChoice = 'auto' | 'ort' | 'tfjs';
export const ENGINE_CHOICES: EngineChoice[] = ['auto', 'ort', 'tfjs'];

/** torch.optim.Adam's defaults. */
export const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

export interface TrainOptions {
  engine?: EngineChoice;
  /** Threads of the CPU engine; undefined: automatic (EngineOptions.threads). */
  threads?: number;
  /**
   * Rows of at most this many bytes are read into memory once for the whole training instead of a
   * positioned read per token per minibatch from their shards (an 11k-token file: 34 MB, 5 % of its
   * training time); larger corpora keep streaming, so memory stays bounded. Default 256 MiB; 0 always streams.
   */
  residentBytes?: number;
  /** After each epoch; `epochs` is the most the schedule allows (early stopping may end sooner), etaMs the time left until then. */
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

/** Checks activations x [T, dIn] against the config and returns their total variance; throws a UserError naming the first bad token. */
export function validateActivations(x: Float32Array, T: number, dIn: number, shape: SaeShape): number {
  const rows = memoryRows(x, T, dIn);
  if (dIn === shape.dIn && intAtLeast(T, 2) && x.length !== T * dIn) {
    throw new UserError(`the activations hold ${x.length} values, not ${T} tokens × ${dIn} features = ${T * dIn}; the file or extraction is inconsistent.`, 'E_DIN');
  }
  return checkRows(rows, shape);
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

/** What training reads of an SaeConfig besides its sizes (pass the whole config). */
export type TrainFields = Pick<SaeConfig, 'l1' | 'decor' | 'lr' | 'epochs' | 'steps' | 'tokens' | 'earlyStop' | 'seed' | 'batchTokens' | 'auxk'>;

/**
 * Trains a Top-K tied SAE of `shape` (an SaeConfig's sizes on this hook, saeShape) on x [T, dIn]
 * in memory; trainRows does the work.
 */
export async function trainSae(x: Float32Array, T: number, dIn: number, shape: SaeShape, cfg: TrainFields, opts: TrainOptions = {}): Promise<TrainResult> {
  checkShape(shape);
  checkTrainFields(cfg);
  validateTrainOptions(opts);
  const sst = validateActivations(x, T, dIn, shape);
  return trainChecked(memoryRows(x, T, dIn), sst, shape, cfg, opts);
}

/**
 * Trains a Top-K tied SAE of `shape` on the rows of `src` (in memory or in shards on disk); see
 * types.ts for the model and objective and schedule.ts for how long it runs. Everything is
 * validated before any work. Each epoch is one full batch, or shuffled minibatches across all
 * tokens when T > cfg.batchTokens; the epoch's loss terms, MSE and L0 are token-weighted means of
 * its batches (measured before each update) and its FVE is 1 − (SSE/n)/(SST/T) over the n tokens it
 * trained on (n = T but in a partial last epoch), SST about the data's mean token. Final metrics
 * come from a forward pass over every token with the trained W.
 */
export async function trainRows(src: RowSource, shape: SaeShape, cfg: TrainFields, opts: TrainOptions = {}): Promise<TrainResult> {
  checkShape(shape);
  checkTrainFields(cfg);
  validateTrainOptions(opts);
  const sst = checkRows(src, shape, opts.signal);
  const rows = src.T * src.dIn * 4 <= (opts.residentBytes ?? RESIDENT_BYTES) ? residentRows(src) : src;
  return trainChecked(rows, sst, shape, cfg, opts);
}

const RESIDENT_BYTES = 256 * 2 ** 20;

async function trainChecked(src: RowSource, sst: number, shape: SaeShape, cfg: TrainFields, opts: TrainOptions): Promise<TrainResult> {
  const { T, dIn } = src;
  const { nLatents } = shape;
  throwIfAborted(opts.signal, 'training');

  const t0 = performance.now();
  const batching = planBatches(T, cfg.batchTokens, cfg.seed);
  const B = Math.max(...batching.sizes);
  const epochsAtMost = maxEpochs(cfg, T, batching.sizes.length);
  // AuxK's dead latents are those that fired on none of the last epoch's tokens: the window of dead_fraction.
  const hyper: SaeHyper = { ...shape, l1: cfg.l1, decor: cfg.decor, lr: cfg.lr, ...ADAM, auxk: cfg.auxk, deadTokens: T };
  const engine = await createEngine(opts.engine ?? 'auto', { hyper, w0: initWeights(dIn, nLatents, cfg.seed), threads: opts.threads });
  try {
    const tTrain = performance.now();
    // One full batch in token order is read once; shuffled minibatches are gathered into buf.
    const full = T <= cfg.batchTokens ? src.range(0, T) : undefined;
    const buf = new Float32Array(full ? 0 : B * dIn);
    const curve: EpochMetrics[] = [];
    let steps = 0;
    let tokens = 0;
    let stop: Pick<ScheduleDone, 'stopped' | 'why'> | undefined;
    for (let epoch = 1; !stop; epoch++) {
      const e0 = performance.now();
      const order = batching.order();
      const sum = { loss: 0, mse: 0, l1: 0, decor: 0, auxk: 0, l0: 0, sse: 0 };
      const fired = new Uint8Array(nLatents);
      let from = 0;
      let step = 0;
      for (const n of batching.sizes) {
        if (budgetSpent(cfg, steps, tokens)) break;
        await yieldToEventLoop();
        throwIfAborted(opts.signal, 'training');
        const r = await engine.step(order ? src.gather(order, from, n, buf) : full!, n);
        for (const key of ['loss', 'mse', 'l1', 'decor', 'auxk', 'l0'] as const) sum[key] += r[key] * n;
        sum.sse += r.sse;
        for (let l = 0; l < fired.length; l++) fired[l] |= r.fired[l];
        from += n;
        steps++;
        tokens += n;
        opts.onStep?.(++step, batching.sizes.length);
      }
      // from: the tokens of this epoch, all T unless a budget ended it early.
      const m: EpochMetrics = {
        epoch,
        loss: sum.loss / from,
        mse: sum.mse / from,
        l1: sum.l1 / from,
        decor: sum.decor / from,
        auxk: sum.auxk / from,
        fve: from === T ? fve(sum.sse, sst) : fve(sum.sse, (sst * from) / T),
        l0: sum.l0 / from,
        dead_fraction: deadFraction(fired),
        ms: performance.now() - e0,
        ...(from < T ? { tokens: from } : {}),
      };
      curve.push(m);
      stop = stopAfterEpoch(cfg, curve, steps, tokens);
      const msPerStep = (performance.now() - tTrain) / steps;
      const stepsLeft = stop ? 0 : Math.max(0, epochsAtMost * batching.sizes.length - steps);
      opts.onProgress?.(epoch, Math.max(epoch, epochsAtMost), m, msPerStep * stepsLeft);
    }
    const trainMs = performance.now() - tTrain;

    const codes = await encodeAll(engine, src, B, shape.k, opts.signal);
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
        ms_per_epoch: (trainMs * T) / tokens,
        total_ms: performance.now() - t0,
        engine: engine.kind,
        device: engine.device,
        batching: batching.describe,
        schedule: { epochs: curve.length, steps, tokens, ...stop! },
      },
    };
  } finally {
    await engine.dispose();
  }
}

/**
 * Forward pass over every token in chunks of ≤ B rows, in token order, the codes joined into one CSR
 * as they come: room for k latents per token up front (more only on exact float ties), so the
 * codes of a large corpus are held once, not once per chunk and again joined.
 */
async function encodeAll(engine: TrainEngine, src: RowSource, B: number, k: number, signal?: AbortSignal): Promise<{ codes: SparseCodes; sse: number }> {
  const { T } = src;
  const rowPtr = new Int32Array(T + 1);
  let index = new Int32Array(T * k);
  let value = new Float32Array(T * k);
  let nnz = 0;
  let sse = 0;
  for (let from = 0; from < T; from += B) {
    throwIfAborted(signal, 'training');
    const n = Math.min(B, T - from);
    const r = await engine.encode(src.range(from, n), n);
    const add = r.codes.index.length;
    if (nnz + add > index.length) {
      const grown = Math.max(nnz + add, Math.ceil(index.length * 1.25));
      index = grow(index, grown, Int32Array);
      value = grow(value, grown, Float32Array);
    }
    index.set(r.codes.index, nnz);
    value.set(r.codes.value, nnz);
    for (let t = 1; t <= n; t++) rowPtr[from + t] = nnz + r.codes.rowPtr[t];
    nnz += add;
    sse += r.sse;
  }
  return { codes: { rowPtr, index: index.subarray(0, nnz), value: value.subarray(0, nnz) }, sse };
}

function grow<A extends Int32Array | Float32Array>(a: A, length: number, Ctor: new (n: number) => A): A {
  const out = new Ctor(length);
  out.set(a);
  return out;
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
