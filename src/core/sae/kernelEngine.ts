import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder';
import { addNoCopyOutput, runInPlace } from '../ortInPlace';
import { DeadLatents, type AuxkStep } from './deadLatents';
import { totalVariance } from './metrics';
import { buildKernels, MAX_PAGES, paddedWidth, selectScratchBytes } from './wasm/kernels';
import { KernelPool } from './wasm/pool';
import { auxkOf, type SaeHyper, type StepResult } from './types';

/**
 * The train step on the CPU: onnxruntime computes the dense pre-activations ReLU(X·W) (its GEMM is
 * the fastest there is here), the WebAssembly kernels (wasm/kernels.ts) do the rest with each
 * token's kept latents only. So a step costs, per token, 2·d·L for X·W, about L for the top-k
 * selection and 8·k·d for the decoder product, ∂loss/∂z and the two gradient products, plus 10·d·L
 * per step for Adam — no term grows with the batch. Tokens go through in chunks of CHUNK, which
 * bounds the [tokens, L] pre-activations and keeps a chunk's rows in cache; ∇W adds up over the
 * chunks and Adam runs once per step. The math is the train graph's (trainGraph.ts, the oracle of
 * the tests); only the order of float additions differs. The covariance term is not here (the
 * engine runs the graph when λc > 0).
 */
export const CHUNK = 256;

export interface KernelStep {
  step(x: Float32Array, n: number): Promise<StepResult>;
  /** Wᵀ [L, dIn] as onnxruntime reads it (refreshed after each step). */
  readonly wt: Float32Array;
  /** ∇Wᵀ [L, dIn] of the last step, when created with gradOutput. */
  lastGradient(): Float32Array;
  dispose(): Promise<void>;
}

const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

/** Adam's coefficients for step t + 1 in the stored form of trainGraph.ts (m holds lr·m̂, v holds v̂). */
function adamCoefficients(h: SaeHyper, t: number) {
  const bc = (beta: number, s: number) => 1 - beta ** s;
  const coef1 = (h.lr * (1 - h.beta1)) / bc(h.beta1, t + 1);
  const coef2 = (1 - h.beta2) / bc(h.beta2, t + 1);
  return { ratio1: (h.beta1 * bc(h.beta1, t)) / bc(h.beta1, t + 1), coef1, ratio2: (h.beta2 * bc(h.beta2, t)) / bc(h.beta2, t + 1), kappa: coef2 / (coef1 * coef1) };
}

/** ReLU(x·W) from Wᵀ: the pre-activations [n, L]. */
function buildPreactGraph(d: number, L: number): Uint8Array {
  const g = new GraphBuilder('sae_preact');
  addNoCopyOutput(g);
  const x = g.input('x', 'float', ['n', d]);
  const wt = g.input('wt', 'float', [L, d]);
  g.node('Relu', [g.node('Gemm', [x, wt], { transB: 1 })], {}, ['r']);
  g.output('r', 'float', ['n', L]);
  return g.toBytes(18);
}

export async function createKernelStep(h: SaeHyper, w0: Float32Array, threads: number | undefined, gradOutput: boolean): Promise<KernelStep> {
  const { dIn: d, nLatents: L, k } = h;
  const dp = paddedWidth(d);
  const rowBytes = 4 * dp;
  const nThreads = Math.max(1, threads ?? os.availableParallelism());

  // Fixed regions: Wᵀ, the moments, ∇Wᵀ [L, dp]; masks and flags [L]; per-thread select scratch.
  let top = 0;
  const region = (bytes: number) => {
    const at = top;
    top += align(bytes);
    return at;
  };
  const R = {
    wt: region(L * rowBytes),
    m: region(L * rowBytes),
    v: region(L * rowBytes),
    grad: region(L * rowBytes),
    dead: region(4 * L),
    fired: region(L),
    touched: region(L),
    colPtr: region(4 * (L + 1)),
    cursor: region(4 * L),
    scratch: Array.from({ length: nThreads }, () => region(selectScratchBytes(L))),
  };
  const chunkBase = top;
  const C = CHUNK;
  // Per-chunk regions, laid out after the fixed ones for a given entry capacity.
  const chunkLayout = (capMain: number, capAux: number) => {
    top = chunkBase;
    const two = () => [region(4 * C), region(4 * C)] as const;
    return {
      x: region(C * rowBytes),
      r: region(4 * C * L),
      res: region(2 * C * rowBytes), // main residuals x̂ − x, then AuxK residuals ê − e
      thr: two(),
      cnt: two(),
      rowPtr: [region(4 * (C + 1)), region(4 * (C + 1))] as const,
      absSum: two(),
      sse: region(8 * C), // main [C], then AuxK [C]
      idx: [region(4 * capMain), region(4 * capAux)] as const,
      val: [region(4 * capMain), region(4 * capAux)] as const,
      colTok: region(4 * (capMain + capAux)),
      colVal: region(4 * (capMain + capAux)),
      end: top,
    };
  };
  const auxOn = auxkOf(h).coef > 0;
  let cap = { main: C * (k + 8), aux: auxOn ? C * (auxkOf(h).kAux + 8) : 4 };
  let lay = chunkLayout(cap.main, cap.aux);

  const pages = (bytes: number) => Math.ceil(bytes / 65536);
  if (pages(lay.end) > MAX_PAGES) throw new Error(`the SAE (${L} latents × ${d}) does not fit the 4 GiB of WebAssembly memory`);
  const memory = new WebAssembly.Memory({ initial: pages(lay.end), maximum: MAX_PAGES, shared: true });
  let f32 = new Float32Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  let u8 = new Uint8Array(memory.buffer);
  const ensure = (bytes: number) => {
    if (bytes > memory.buffer.byteLength) memory.grow(pages(bytes - memory.buffer.byteLength));
    if (f32.buffer.byteLength !== memory.buffer.byteLength) {
      f32 = new Float32Array(memory.buffer);
      i32 = new Int32Array(memory.buffer);
      u8 = new Uint8Array(memory.buffer);
    }
  };

  const pool = await KernelPool.create(new WebAssembly.Module(buildKernels({ dp, L })), memory, nThreads);
  const session = await ort.InferenceSession.create(buildPreactGraph(d, L), {
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Spinning pool threads would take the cores the kernels need right after the product.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });

  // Wᵀ into the memory (padded rows) and into onnxruntime's copy.
  const wtOrt = new Float32Array(L * d);
  for (let j = 0; j < L; j++) for (let i = 0; i < d; i++) wtOrt[j * d + i] = w0[i * L + j];
  for (let j = 0; j < L; j++) f32.set(wtOrt.subarray(j * d, (j + 1) * d), R.wt / 4 + j * dp);
  const syncWt = () => {
    for (let j = 0; j < L; j++) wtOrt.set(f32.subarray(R.wt / 4 + j * dp, R.wt / 4 + j * dp + d), j * d);
  };

  const rOrt = new Float32Array(C * L);
  const dead = new DeadLatents(h);
  const gradCopy = gradOutput ? new Float32Array(L * d) : new Float32Array(0);
  let t = 0;

  /** Splits [0, n) into one contiguous range per thread. */
  const even = (n: number) => {
    const parts = Math.min(nThreads, Math.max(1, n));
    return Array.from({ length: parts }, (_, p) => [Math.floor((p * n) / parts), Math.floor(((p + 1) * n) / parts)]);
  };
  /** Latent ranges of about equal work: a column's entries plus a fixed cost per latent. */
  const byWork = () => {
    const colPtr = i32.subarray(R.colPtr / 4, R.colPtr / 4 + L + 1);
    const total = colPtr[L] + L;
    const cuts = [0];
    for (let p = 1, j = 0; p < nThreads; p++) {
      while (j < L && colPtr[j] + j < (p * total) / nThreads) j++;
      cuts.push(j);
    }
    cuts.push(L);
    return cuts.slice(0, -1).map((c, p) => [c, cuts[p + 1]]);
  };

  /** Top-k selection, codes and decoder residuals of chunk rows [0, c); returns the codes' entry counts. */
  const forwardChunk = (c: number, aux: AuxkStep | undefined) => {
    const sets = aux ? ([[0, 0, k], [1, R.dead, aux.k]] as const) : ([[0, 0, k]] as const);
    for (const [s, mask, kk] of sets) {
      pool.run('select', even(c).map(([a, b], p) => [lay.r, a, b, kk, mask, lay.thr[s], lay.cnt[s], R.scratch[p]]));
    }
    const totals = [0, 0];
    for (const [s] of sets) {
      const cnt = i32.subarray(lay.cnt[s] / 4, lay.cnt[s] / 4 + c);
      const ptr = i32.subarray(lay.rowPtr[s] / 4, lay.rowPtr[s] / 4 + c + 1);
      ptr[0] = 0;
      for (let i = 0; i < c; i++) ptr[i + 1] = ptr[i] + cnt[i];
      totals[s] = ptr[c];
    }
    if (totals[0] > cap.main || totals[1] > cap.aux) {
      // Ties past the k-th value: more entries than planned. Only the entry regions (last in the
      // layout) grow; everything before them keeps its place.
      cap = { main: Math.max(cap.main, totals[0]), aux: Math.max(cap.aux, totals[1]) };
      lay = chunkLayout(cap.main, cap.aux);
      ensure(lay.end);
    }
    for (const [s, mask] of sets) {
      pool.run('gather', even(c).map(([a, b]) => [lay.r, a, b, mask, lay.thr[s], lay.rowPtr[s], lay.idx[s], lay.val[s], lay.absSum[s]]));
    }
    pool.run('columns', [[c, aux ? c : 0, lay.rowPtr[0], lay.idx[0], lay.val[0], lay.rowPtr[1], lay.idx[1], lay.val[1], R.colPtr, R.cursor, lay.colTok, lay.colVal, R.fired, R.touched]]);
    pool.run('decode', even(c).map(([a, b]) => [R.wt, a, b, c, R.colPtr, lay.colTok, lay.colVal, lay.x, lay.res, lay.sse, aux ? 1 : 0]));
    return totals;
  };

  const sum = (at: number, c: number) => {
    let s = 0;
    for (let i = 0; i < c; i++) s += f32[at / 4 + i];
    return s;
  };

  return {
    wt: wtOrt,

    async step(x: Float32Array, n: number): Promise<StepResult> {
      const aux = dead.next();
      const a = auxkOf(h);
      if (aux) f32.set(aux.mask, R.dead / 4);
      const tv = aux ? totalVariance(x, n, d) : 0;
      const useAux = aux !== undefined && tv > 0;
      const cMain = 2 / (n * d);
      const cAux = useAux ? (2 * a.coef * aux.scale) / tv : 0;
      const l1Grad = h.l1 / (n * L);
      u8.fill(0, R.fired, R.fired + L);
      u8.fill(0, R.touched, R.touched + L);
      let sse = 0;
      let auxSse = 0;
      let absSum = 0;
      let nnz = 0;
      for (let c0 = 0; c0 < n; c0 += C) {
        const c = Math.min(C, n - c0);
        const xc = x.subarray(c0 * d, (c0 + c) * d);
        // onnxruntime: r = ReLU(x·W) for the chunk, copied into the kernels' memory.
        const rOut = new ort.Tensor('float32', rOrt.subarray(0, c * L), [c, L]);
        await runInPlace(session, { x: new ort.Tensor('float32', xc, [c, d]), wt: new ort.Tensor('float32', wtOrt, [L, d]) }, { r: rOut });
        f32.set(rOrt.subarray(0, c * L), lay.r / 4);
        for (let i = 0; i < c; i++) f32.set(xc.subarray(i * d, (i + 1) * d), lay.x / 4 + i * dp);
        const [mainEntries] = forwardChunk(c, useAux ? aux : undefined);
        nnz += mainEntries;
        sse += sum(lay.sse, c);
        absSum += sum(lay.absSum[0], c);
        if (useAux) auxSse += sum(lay.sse + 4 * c, c);
        pool.run('backward', byWork().map(([j0, j1]) => [R.wt, j0, j1, R.colPtr, lay.colTok, lay.colVal, lay.res, lay.x, c, cMain, cAux, l1Grad, R.grad]));
      }
      if (gradOutput) {
        for (let j = 0; j < L; j++) gradCopy.set(f32.subarray(R.grad / 4 + j * dp, R.grad / 4 + j * dp + d), j * d);
      }
      const ad = adamCoefficients(h, t);
      pool.run('adam', even(L).map(([j0, j1]) => [R.wt, j0, j1, R.grad, R.m, R.v, R.touched, ad.ratio1, ad.coef1, ad.ratio2, ad.kappa, h.eps]));
      t++;
      syncWt();
      const fired = u8.slice(R.fired, R.fired + L);
      dead.update(fired, n);
      const mse = sse / (n * d);
      const l1 = absSum / (n * L);
      const auxk = useAux ? (aux.scale * auxSse) / tv : 0;
      // Reported as float32, as the graph's statistics are.
      const f = Math.fround;
      return { loss: f(mse + h.l1 * l1 + a.coef * auxk), mse: f(mse), l1: f(l1), decor: 0, auxk: f(auxk), sse: f(sse), l0: f(nnz / n), fired };
    },

    lastGradient(): Float32Array {
      if (!gradOutput) throw new Error('lastGradient() needs the engine created with gradOutput');
      return gradCopy;
    },

    async dispose(): Promise<void> {
      await session.release();
      await pool.dispose();
    },
  };
}
