import * as ort from 'onnxruntime-node';
import { cudaProviderInstalled, deviceText, openSessions } from '../ortSessions';
import { runInPlace } from '../ortInPlace';
import { DeadLatents } from './deadLatents';
import { createKernelStep } from './kernelEngine';
import { transpose } from './model';
import { totalVariance } from './metrics';
import { blockRows, buildEncodeGraph, buildTrainGraph, nextNames, STAT_NAMES, stateNames } from './trainGraph';
import { auxkOf, type EngineOptions, type SaeHyper, type SparseCodes, type StepResult, type TrainEngine } from './types';

export type OrtProvider = 'auto' | 'cpu' | 'cuda';

export interface OrtEngineOptions extends EngineOptions {
  /** `auto` (default): CUDA when onnxruntime-node's CUDA provider library is installed, else CPU. */
  provider?: OrtProvider;
  /** Latent blocks of the train graph (default: about 1024 latents each). */
  blocks?: number;
  /** Also compute ∇W each step, readable with `lastGradient()` (gradient checks). */
  gradOutput?: boolean;
  /**
   * `auto` (default): on the CPU and without the covariance term, onnxruntime's X·W plus the
   * sparse WebAssembly kernels (kernelEngine.ts); otherwise the train graph (trainGraph.ts).
   * `graph`: the train graph always (the kernels' oracle in the tests).
   */
  step?: 'auto' | 'graph';
  /** The kernels' multiply-adds fused (default: where the runtime has relaxed SIMD) or not (tests check both). */
  fma?: boolean;
  /** The kernels' dense-latent share (denseLatents.ts; default DENSE_SHARE, above 1: all sparse; tests check both). */
  denseShare?: number;
}

/** The ort engine, plus what tests need to look inside. */
export interface OrtEngine extends TrainEngine {
  /** ∇W [dIn, nLatents] of the last step (only with `gradOutput`). */
  lastGradient(): Float32Array;
}

/** Tokens per encode run: bounds the [tokens, nLatents] intermediates. */
const ENCODE_CHUNK = 1024;

/**
 * Latent blocks of about 1024 latents: each block's gradient and Adam update run on a slice of W
 * small enough to stay in cache between their ops. On workload S and the course preset, 3–12 blocks
 * measured within 5 % of each other.
 */
function defaultBlocks(h: SaeHyper): number {
  return Math.max(1, Math.round(h.nLatents / 1024));
}

async function openEngineSessions(opts: OrtEngineOptions, train: Uint8Array, encode: Uint8Array) {
  const { sessions, provider } = await openSessions([train, encode], opts.provider ?? 'auto', {
    ...(opts.threads === undefined ? {} : { intraOpNumThreads: opts.threads }),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  return { train: sessions[0], encode: sessions[1], device: deviceText(provider, opts.threads) };
}

const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

/** Forward pass in chunks through the encode graph (trainGraph.ts), weights fed as given. */
async function encodeChunks(session: ort.InferenceSession, weights: Record<string, ort.Tensor>, x: Float32Array, n: number, d: number): Promise<{ codes: SparseCodes; sse: number }> {
  const rowPtr = new Int32Array(n + 1);
  const parts: { index: Int32Array; value: Float32Array }[] = [];
  let nnz = 0;
  let sse = 0;
  for (let from = 0; from < n; from += ENCODE_CHUNK) {
    const m = Math.min(ENCODE_CHUNK, n - from);
    const out = await session.run({ ...weights, x: f32(x.subarray(from * d, (from + m) * d), [m, d]) });
    const vals = out.values.data as Float32Array;
    const ids = out.indices.data as BigInt64Array;
    const thr = out.thr.data as Float32Array;
    const c = out.values.dims[1];
    const part = { index: new Int32Array(m * c), value: new Float32Array(m * c) };
    let p = 0;
    for (let i = 0; i < m; i++) {
      for (let j = i * c; j < (i + 1) * c && vals[j] > 0 && vals[j] >= thr[i]; j++, p++) {
        part.index[p] = Number(ids[j]);
        part.value[p] = vals[j];
      }
      rowPtr[from + i + 1] = nnz + p;
    }
    parts.push({ index: part.index.subarray(0, p), value: part.value.subarray(0, p) });
    nnz += p;
    sse += (out.sse.data as Float32Array)[0];
  }
  const codes: SparseCodes = { rowPtr, index: new Int32Array(nnz), value: new Float32Array(nnz) };
  let at = 0;
  for (const part of parts) {
    codes.index.set(part.index, at);
    codes.value.set(part.value, at);
    at += part.index.length;
  }
  return { codes, sse };
}

function checkBatch(h: SaeHyper, x: Float32Array, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min || x.length !== n * h.dIn) throw new Error(`batch of ${n} tokens with ${x.length} values; need n ≥ ${min} and n·dIn = ${n * h.dIn} values`);
}

/**
 * The SAE trainer on onnxruntime-node. On the CPU without the covariance term: onnxruntime's dense
 * X·W, the dense latents' products (denseLatents.ts) and the sparse WebAssembly kernels
 * (kernelEngine.ts), whose cost per token does not grow with the batch. Otherwise (CUDA, or λc > 0):
 * the generated train-step graph (trainGraph.ts). Same inputs, seed and thread count give
 * bit-identical results; other thread counts agree to float rounding, since onnxruntime's GEMM
 * blocks its sums by the part of the output each thread gets (checked in the tests).
 */
export async function createOrtEngine(opts: OrtEngineOptions): Promise<OrtEngine> {
  const provider = opts.provider ?? 'auto';
  const onCpu = provider === 'cpu' || (provider === 'auto' && !cudaProviderInstalled());
  if ((opts.step ?? 'auto') === 'auto' && onCpu && opts.hyper.decor === 0) return createKernelEngine(opts);
  return createGraphEngine(opts);
}

async function createKernelEngine(opts: OrtEngineOptions): Promise<OrtEngine> {
  const h = opts.hyper;
  const { dIn: d, nLatents: L } = h;
  if (opts.w0.length !== d * L) throw new Error(`w0 has ${opts.w0.length} values, expected dIn·nLatents = ${d * L}`);
  const kernels = await createKernelStep(h, opts.w0, { threads: opts.threads, gradOutput: opts.gradOutput, fma: opts.fma, denseShare: opts.denseShare });
  return {
    kind: 'ort',
    device: deviceText('cpu', kernels.threads),
    async step(x: Float32Array, n: number): Promise<StepResult> {
      checkBatch(h, x, n, 1);
      return kernels.step(x, n);
    },
    async weights() {
      return transpose(kernels.wt, L, d);
    },
    lastGradient() {
      return transpose(kernels.lastGradient(), L, d);
    },
    async encode(x: Float32Array, n: number) {
      checkBatch(h, x, n, 1);
      return kernels.encode(x, n);
    },
    async dispose() {
      await kernels.dispose();
    },
  };
}

/**
 * The train-step graph engine: Wᵀ and the Adam moments live in ORT tensors; each step feeds them in
 * (inputs are not copied) and receives the updated ones in the same buffers, given as preallocated
 * outputs (src/core/ortInPlace.ts) — no arrays are allocated per step.
 */
async function createGraphEngine(opts: OrtEngineOptions): Promise<OrtEngine> {
  const h = opts.hyper;
  const { dIn: d, nLatents: L } = h;
  if (opts.w0.length !== d * L) throw new Error(`w0 has ${opts.w0.length} values, expected dIn·nLatents = ${d * L}`);
  const blocks = opts.blocks ?? defaultBlocks(h);
  const rows = blockRows(L, blocks);
  const offsets = rows.map((_, b) => rows.slice(0, b).reduce((a, c) => a + c, 0));
  const sessions = await openEngineSessions(opts, buildTrainGraph({ hyper: h, blocks, gradOutput: opts.gradOutput }), buildEncodeGraph(h, blocks));
  const train = sessions.train;

  // Wᵀ blocks from w0 [d, L]; moments start at zero. Each step writes the updated values over them:
  // `updated` holds the same tensors under the output names (trainGraph.ts says why that is safe).
  const state: Record<string, ort.Tensor> = {};
  const updated: Record<string, ort.Tensor> = {};
  rows.forEach((rb, b) => {
    const wt = new Float32Array(rb * d);
    for (let r = 0; r < rb; r++) for (let i = 0; i < d; i++) wt[r * d + i] = opts.w0[i * L + offsets[b] + r];
    const s = stateNames(b);
    state[s.wt] = f32(wt, [rb, d]);
    state[s.m] = f32(new Float32Array(rb * d), [rb, d]);
    state[s.v] = f32(new Float32Array(rb * d), [rb, d]);
    for (const key of ['wt', 'm', 'v'] as const) updated[nextNames(b)[key]] = state[s[key]];
  });
  // Steps done, fed as `t`; the run writes t + 1 into the other one.
  let [t, tNext] = [f32(Float32Array.of(0), []), f32(new Float32Array(1), [])];
  const stats = f32(new Float32Array(STAT_NAMES.length), [STAT_NAMES.length]);
  const fired = new ort.Tensor('bool', new Uint8Array(L), [L]);
  const grad = opts.gradOutput ? rows.map((rb) => f32(new Float32Array(rb * d), [rb, d])) : [];
  const dead = new DeadLatents(h);
  const auxOn = auxkOf(h).coef > 0;

  const transposeBlocks = (parts: ArrayLike<number>[]) => {
    const w = new Float32Array(d * L);
    parts.forEach((wt, b) => {
      for (let r = 0; r < rows[b]; r++) for (let i = 0; i < d; i++) w[i * L + offsets[b] + r] = wt[r * d + i];
    });
    return w;
  };

  return {
    kind: 'ort',
    device: sessions.device,

    async step(x: Float32Array, n: number): Promise<StepResult> {
      checkBatch(h, x, n, h.decor > 0 ? 2 : 1); // the covariance needs n − 1 > 0
      const outputs: Record<string, ort.Tensor> = { ...updated, stats, fired, t_next: tNext };
      grad.forEach((g, b) => (outputs[`grad${b}`] = g));
      const feeds: Record<string, ort.Tensor> = { ...state, x: f32(x, [n, d]), t };
      if (auxOn) {
        const a = dead.next();
        const tv = a ? totalVariance(x, n, d) : 0;
        const on = a !== undefined && tv > 0;
        feeds.dead = f32(on ? a.mask : new Float32Array(L), [L]);
        feeds.kaux = new ort.Tensor('int64', BigInt64Array.of(BigInt(on ? a.k : 1)), [1]);
        feeds.aux_norm = f32(Float32Array.of(on ? a.scale / tv : 0), []);
      }
      const done = t.data[0] as number;
      await runInPlace(train, feeds, outputs);
      if (tNext.data[0] !== done + 1) throw new Error('onnxruntime-node returned from the train step without filling its outputs');
      [t, tNext] = [tNext, t];
      const [loss, mse, l1, decor, sse, l0, auxk] = stats.data as Float32Array;
      const firedNow = (fired.data as Uint8Array).slice();
      dead.update(firedNow, n);
      return { loss, mse, l1, decor, auxk, sse, l0, fired: firedNow };
    },

    async weights(): Promise<Float32Array> {
      return transposeBlocks(rows.map((_, b) => state[stateNames(b).wt].data as Float32Array));
    },

    lastGradient(): Float32Array {
      if (!opts.gradOutput) throw new Error('lastGradient() needs the engine created with gradOutput');
      return transposeBlocks(grad.map((g) => g.data as Float32Array));
    },

    async encode(x: Float32Array, n: number): Promise<{ codes: SparseCodes; sse: number }> {
      checkBatch(h, x, n, 1);
      return encodeChunks(sessions.encode, Object.fromEntries(rows.map((_, b) => [stateNames(b).wt, state[stateNames(b).wt]])), x, n, d);
    },

    async dispose(): Promise<void> {
      await train.release();
      await sessions.encode.release();
    },
  };
}
