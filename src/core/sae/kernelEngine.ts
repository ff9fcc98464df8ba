import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder';
import { addNoCopyOutput, runInPlace } from '../ortInPlace';
import { DeadLatents, type AuxkStep } from './deadLatents';
import { buildDenseDecodeGraph, buildDenseGradGraph, DENSE_SHARE, pickDenseLatents } from './denseLatents';
import { transpose } from './model';
import { totalVariance } from './metrics';
import { buildKernels, columnStarts, MAX_PAGES, PACK_TABLE_BYTES, packTable, paddedWidth, selectGroups, selectScratchBytes, type KernelName } from './wasm/kernels';
import { KernelPool } from './wasm/pool';
import { relaxedSimd } from './wasm/relaxedSimd';
import { auxkOf, type SaeHyper, type SparseCodes, type StepResult } from './types';

/**
 * The train step on the CPU: onnxruntime computes the dense pre-activations ReLU(X·W) (its GEMM is
 * the fastest there is here), the WebAssembly kernels (wasm/kernels.ts) do the rest with each
 * token's kept latents only. So a step costs, per token, 2·d·L for X·W, about L for the top-k
 * selection and 8·k·d for the decoder product, ∂loss/∂z and the two gradient products, plus 10·d·L
 * per step for Adam — no term grows with the batch. Latents that most tokens of a chunk keep take
 * their share of those 8·k·d through onnxruntime's GEMM instead (denseLatents.ts). Tokens go through
 * in chunks of CHUNK, which bounds the [tokens, L] pre-activations; ∇W adds up over the chunks and
 * Adam runs once per step. Each chunk streams Wᵀ and ∇Wᵀ through the cores once and has onnxruntime
 * pack Wᵀ once, so bigger chunks cost less per token until the chunk's rows leave the cache: 1024
 * tokens measured 6 % less CPU per token than 256, 512 and 2048 at workload S (1536 and 2048 within
 * the noise of 1024 once the dense latents came). The math is the train graph's (trainGraph.ts, the
 * oracle of the tests); only the order of float additions differs, and whether multiply-adds are
 * fused (relaxedSimd.ts). The covariance term is not here (the engine runs the graph when λc > 0).
 */
export const CHUNK = 1024;

export interface KernelStep {
  step(x: Float32Array, n: number): Promise<StepResult>;
  /** Top-k codes (rows by descending value, the lower latent first among equal values) and Σ‖x̂ − x‖² with the current W. */
  encode(x: Float32Array, n: number): Promise<{ codes: SparseCodes; sse: number }>;
  /** The threads it runs on (the kernels and onnxruntime's product alike). */
  readonly threads: number;
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

/**
 * Orders each row of codes (entries in latent order) by descending value, the lower latent first
 * among equal values: one native numeric sort of float64 keys per row, value bits · L + (L − 1 − latent)
 * (non-negative floats order like their bits; the key stays below 2^53 for L < 2^22, which any Wᵀ
 * that fits the 4 GiB of WebAssembly memory has).
 */
function sortRowsByValue(codes: SparseCodes, L: number): void {
  const { rowPtr, index, value } = codes;
  const bits = new Uint32Array(value.buffer, value.byteOffset, value.length);
  let keys = new Float64Array(0);
  for (let t = 0; t + 1 < rowPtr.length; t++) {
    const [from, to] = [rowPtr[t], rowPtr[t + 1]];
    if (keys.length < to - from) keys = new Float64Array(to - from);
    const row = keys.subarray(0, to - from);
    for (let e = from; e < to; e++) row[e - from] = bits[e] * L + (L - 1 - index[e]);
    row.sort();
    for (let e = from; e < to; e++) {
      const key = row[to - 1 - e];
      const latent = L - 1 - (key % L);
      index[e] = latent;
      bits[e] = (key - (L - 1 - latent)) / L;
    }
  }
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

export interface KernelStepOptions {
  threads?: number;
  /** Keep ∇Wᵀ of each step for lastGradient(). */
  gradOutput?: boolean;
  /** Fused multiply-adds (default: where the runtime has relaxed SIMD); false: separate multiply and add. */
  fma?: boolean;
  /** Share of a chunk's tokens from which a latent goes dense (default DENSE_SHARE; above 1: never). */
  denseShare?: number;
}

export async function createKernelStep(h: SaeHyper, w0: Float32Array, { threads, gradOutput = false, fma = relaxedSimd(), denseShare = DENSE_SHARE }: KernelStepOptions): Promise<KernelStep> {
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
    slot: region(4 * L), // s + 1 for the chunk's dense latent ids[s] (denseLatents.ts), 0 for the others
    ids: region(4 * L),
    dense: region(L * rowBytes), // the dense latents' gradient rows
    colPtr: region(4 * (L + 1)),
    next: region(4), // the shared block counter of the kernels that split their work dynamically
    counts: Array.from({ length: 2 * nThreads }, () => region(4 * L)), // columns: each thread's main and AuxK counts
    scratch: Array.from({ length: nThreads }, () => region(selectScratchBytes(L))),
    pack: region(PACK_TABLE_BYTES),
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
      rowEnd: region(4 * C), // where each token's entries end once the dense latents' are dropped
      rowCursor: region(4 * C),
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

  // The pool's threads start and onnxruntime builds its session while this thread lays out Wᵀ.
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    // As many threads as the kernels: onnxruntime's own default pins its threads to cores, where they
    // then contend with the kernels' threads (measured 15 % slower per step on 2 cores).
    intraOpNumThreads: nThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Spinning pool threads would take the cores the kernels need right after the product.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  const started = Promise.all([
    KernelPool.create(new WebAssembly.Module(buildKernels({ dp, L, fma })), memory, nThreads),
    ort.InferenceSession.create(buildPreactGraph(d, L), sessionOptions),
    ort.InferenceSession.create(buildDenseDecodeGraph(d, L), sessionOptions),
    ort.InferenceSession.create(buildDenseGradGraph(d, h.l1 > 0), sessionOptions),
  ]);

  // Wᵀ into the memory (padded rows) and into onnxruntime's copy.
  const wtOrt = transpose(w0, d, L);
  /** Copies `rows` rows of d floats from `from` into padded rows of the memory at byte offset `at` (one copy when d = dp). */
  const toPadded = (from: Float32Array, rows: number, at: number) => {
    if (dp === d) f32.set(from.subarray(0, rows * d), at / 4);
    else for (let j = 0; j < rows; j++) f32.set(from.subarray(j * d, (j + 1) * d), at / 4 + j * dp);
  };
  /** Copies `rows` padded rows of the memory at byte offset `at` into `to` (rows of d floats). */
  const fromPadded = (at: number, rows: number, to: Float32Array) => {
    if (dp === d) to.set(f32.subarray(at / 4, at / 4 + rows * d));
    else for (let j = 0; j < rows; j++) to.set(f32.subarray(at / 4 + j * dp, at / 4 + j * dp + d), j * d);
  };
  toPadded(wtOrt, L, R.wt);
  u8.set(packTable(), R.pack);
  const [pool, session, decodeSession, gradSession] = await started;

  const rOrt = new Float32Array(C * L);
  const dead = new DeadLatents(h);
  const gradCopy = gradOutput ? new Float32Array(L * d) : new Float32Array(0);
  let t = 0;

  /** Runs a kernel that takes its blocks of work from the shared counter on every thread; args(p) for thread p. */
  const shared = (name: KernelName, args: (p: number) => number[]) => {
    i32[R.next / 4] = 0;
    pool.run(name, Array.from({ length: nThreads }, (_, p) => args(p)));
  };
  /** Splits [0, n) into one contiguous range per thread. */
  const even = (n: number) => {
    const parts = Math.min(nThreads, Math.max(1, n));
    return Array.from({ length: parts }, (_, p) => [Math.floor((p * n) / parts), Math.floor(((p + 1) * n) / parts)]);
  };
  /** Runs `work` on each chunk of x [n, d] after putting x and r = ReLU(x·W) (onnxruntime) into the kernels' memory. */
  const chunks = async (x: Float32Array, n: number, work: (c0: number, c: number, xc: Float32Array) => void | Promise<void>) => {
    for (let c0 = 0; c0 < n; c0 += C) {
      const c = Math.min(C, n - c0);
      const xc = x.subarray(c0 * d, (c0 + c) * d);
      const r = rOrt.subarray(0, c * L);
      await runInPlace(session, { x: new ort.Tensor('float32', xc, [c, d]), wt: new ort.Tensor('float32', wtOrt, [L, d]) }, { r: new ort.Tensor('float32', r, [c, L]) });
      f32.set(r, lay.r / 4);
      toPadded(xc, c, lay.x);
      await work(c0, c, xc);
    }
  };

  /**
   * Top-k selection, codes and decoder residuals of chunk rows [0, c), and for a train step the
   * codes by latent (columns) for the gradient and the dense latents' part of x̂; returns the codes'
   * entry counts and how many latents went dense.
   */
  const forwardChunk = async (c: number, aux: AuxkStep | undefined, train: boolean) => {
    const sets = aux ? ([[0, 0, k], [1, R.dead, aux.k]] as const) : ([[0, 0, k]] as const);
    for (const [s, mask, kk] of sets) {
      shared('select', (p) => [lay.r, R.next, c, kk, mask, lay.thr[s], lay.cnt[s], R.scratch[p], selectGroups(L, kk), R.pack]);
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
      shared('gather', (p) => [lay.r, R.next, c, mask, lay.thr[s], lay.rowPtr[s], lay.idx[s], lay.val[s], lay.absSum[s], R.pack, R.scratch[p]]);
    }
    let m = 0;
    if (train) {
      const parts = even(c).map(([a, b]) => (aux ? [a, b, a, b] : [a, b, 0, 0]));
      pool.run('columnsCount', parts.map((q, p) => [...q, lay.rowPtr[0], lay.idx[0], lay.rowPtr[1], lay.idx[1], R.counts[2 * p], R.counts[2 * p + 1]]));
      columnStarts(
        R.counts.slice(0, 2 * parts.length).map((at) => i32.subarray(at / 4, at / 4 + L)),
        i32.subarray(R.colPtr / 4, R.colPtr / 4 + L + 1),
        u8.subarray(R.fired, R.fired + L),
        u8.subarray(R.touched, R.touched + L),
      );
      pool.run('columnsPlace', parts.map((q, p) => [...q, c, lay.rowPtr[0], lay.idx[0], lay.val[0], lay.rowPtr[1], lay.idx[1], lay.val[1], R.counts[2 * p], R.counts[2 * p + 1], lay.colTok, lay.colVal]));
      m = await denseDecode(c);
    }
    const ends = m > 0 ? lay.rowEnd : lay.rowPtr[0] + 4;
    pool.run('decode', even(c).map(([a, b]) => [R.wt, a, b, c, lay.rowPtr[0], ends, lay.idx[0], lay.val[0], lay.rowPtr[1], lay.idx[1], lay.val[1], lay.rowCursor, lay.x, lay.res, lay.sse, aux ? 1 : 0, m > 0 ? 1 : 0]));
    return { totals, m };
  };

  // onnxruntime reads and writes its own buffers, not the kernels' shared memory: the dense latents'
  // codes and sums are copied across (2–3 MB per chunk each way at workload S).
  const dense = { ids: new BigInt64Array(L), zt: new Float32Array(0), wd: new Float32Array(0), rows: new Float32Array(C * d), grad: new Float32Array(0) };
  /** `buf` when it holds m rows of `width` floats, else a new one with room for a quarter more. */
  const room = (buf: Float32Array<ArrayBuffer>, m: number, width: number) => (buf.length >= m * width ? buf : new Float32Array(Math.min(L, Math.ceil(1.25 * m)) * width));
  /**
   * After `columns`: picks the chunk's dense latents (R.ids, R.slot), puts their part of x̂ into the
   * residual rows for decode to start from, and drops their entries from the rows decode reads
   * (rowEnd); leaves their codes (dense.zt) and rows of Wᵀ (dense.wd) for denseGradient; returns how many.
   */
  const denseDecode = async (c: number): Promise<number> => {
    const ids = i32.subarray(R.ids / 4, R.ids / 4 + L);
    const m = pickDenseLatents(i32.subarray(R.colPtr / 4, R.colPtr / 4 + L + 1), i32.subarray(lay.colTok / 4), c, denseShare, ids);
    if (m === 0) return 0;
    for (let s = 0; s < m; s++) {
      i32[R.slot / 4 + ids[s]] = s + 1;
      dense.ids[s] = BigInt(ids[s]);
    }
    // The r rows are spent once the codes are gathered: zᵀ [m, c] goes there.
    shared('densify', () => [R.next, R.colPtr, lay.colTok, lay.colVal, R.ids, m, c, lay.r]);
    dense.zt = room(dense.zt, m, C);
    dense.wd = room(dense.wd, m, d);
    dense.zt.set(f32.subarray(lay.r / 4, lay.r / 4 + m * c));
    const y = dense.rows.subarray(0, c * d);
    await runInPlace(
      decodeSession,
      { zt: new ort.Tensor('float32', dense.zt.subarray(0, m * c), [m, c]), wt: new ort.Tensor('float32', wtOrt, [L, d]), ids: new ort.Tensor('int64', dense.ids.subarray(0, m), [m]) },
      { y: new ort.Tensor('float32', y, [c, d]), wd: new ort.Tensor('float32', dense.wd.subarray(0, m * d), [m, d]) },
    );
    toPadded(y, c, lay.res);
    shared('sparseOnly', () => [R.next, c, lay.rowPtr[0], lay.idx[0], lay.val[0], R.slot, lay.rowEnd]);
    return m;
  };
  /** After decode: the m dense latents' gradient rows into R.dense, for the backward kernel to add (times c). */
  const denseGradient = async (xc: Float32Array, c: number, m: number, l1c: number): Promise<void> => {
    fromPadded(lay.res, c, dense.rows);
    dense.grad = room(dense.grad, m, d);
    const grad = dense.grad.subarray(0, m * d);
    const feeds: Record<string, ort.Tensor> = {
      res: new ort.Tensor('float32', dense.rows.subarray(0, c * d), [c, d]),
      x: new ort.Tensor('float32', xc, [c, d]),
      zt: new ort.Tensor('float32', dense.zt.subarray(0, m * c), [m, c]),
      wd: new ort.Tensor('float32', dense.wd.subarray(0, m * d), [m, d]),
    };
    if (h.l1 > 0) feeds.l1_grad = new ort.Tensor('float32', Float32Array.of(l1c), [1]);
    await runInPlace(gradSession, feeds, { grad: new ort.Tensor('float32', grad, [m, d]) });
    toPadded(grad, m, R.dense);
  };

  const sum = (at: number, c: number) => {
    let s = 0;
    for (let i = 0; i < c; i++) s += f32[at / 4 + i];
    return s;
  };

  return {
    threads: nThreads,
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
      await chunks(x, n, async (_, c, xc) => {
        const {
          totals: [mainEntries],
          m,
        } = await forwardChunk(c, useAux ? aux : undefined, true);
        nnz += mainEntries;
        sse += sum(lay.sse, c);
        absSum += sum(lay.absSum[0], c);
        if (useAux) auxSse += sum(lay.sse + 4 * c, c);
        if (m > 0) await denseGradient(xc, c, m, l1Grad / cMain);
        shared('backward', () => [R.wt, R.next, R.colPtr, lay.colTok, lay.colVal, lay.res, lay.x, c, cMain, cAux, l1Grad, R.grad, R.slot, R.dense]);
        for (let s = 0; s < m; s++) i32[R.slot / 4 + i32[R.ids / 4 + s]] = 0;
      });
      if (gradOutput) {
        fromPadded(R.grad, L, gradCopy);
      }
      const ad = adamCoefficients(h, t);
      shared('adam', () => [R.wt, R.next, R.grad, R.m, R.v, R.touched, ad.ratio1, ad.coef1, ad.ratio2, ad.kappa, h.eps]);
      t++;
      fromPadded(R.wt, L, wtOrt);
      const fired = u8.slice(R.fired, R.fired + L);
      dead.update(fired, n);
      const mse = sse / (n * d);
      const l1 = absSum / (n * L);
      const auxk = useAux ? (aux.scale * auxSse) / tv : 0;
      // Reported as float32, as the graph's statistics are.
      const f = Math.fround;
      return { loss: f(mse + h.l1 * l1 + a.coef * auxk), mse: f(mse), l1: f(l1), decor: 0, auxk: f(auxk), sse: f(sse), l0: f(nnz / n), fired };
    },

    async encode(x: Float32Array, n: number): Promise<{ codes: SparseCodes; sse: number }> {
      const rowPtr = new Int32Array(n + 1);
      const parts: { index: Int32Array; value: Float32Array }[] = [];
      let sse = 0;
      await chunks(x, n, async (c0, c) => {
        const {
          totals: [entries],
        } = await forwardChunk(c, undefined, false);
        const ptr = i32.subarray(lay.rowPtr[0] / 4, lay.rowPtr[0] / 4 + c + 1);
        for (let i = 1; i <= c; i++) rowPtr[c0 + i] = rowPtr[c0] + ptr[i];
        parts.push({ index: i32.slice(lay.idx[0] / 4, lay.idx[0] / 4 + entries), value: f32.slice(lay.val[0] / 4, lay.val[0] / 4 + entries) });
        sse += sum(lay.sse, c);
      });
      const codes: SparseCodes = { rowPtr, index: new Int32Array(rowPtr[n]), value: new Float32Array(rowPtr[n]) };
      let at = 0;
      for (const p of parts) {
        codes.index.set(p.index, at);
        codes.value.set(p.value, at);
        at += p.index.length;
      }
      sortRowsByValue(codes, L);
      return { codes, sse };
    },

    lastGradient(): Float32Array {
      if (!gradOutput) throw new Error('lastGradient() needs the engine created with gradOutput');
      return gradCopy;
    },

    async dispose(): Promise<void> {
      await session.release();
      await decodeSession.release();
      await gradSession.release();
      await pool.dispose();
    },
  };
}
