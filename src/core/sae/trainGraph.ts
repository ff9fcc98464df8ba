import { GraphBuilder } from '../onnx/builder';
import { addNoCopyOutput } from '../ortInPlace';
import { auxkOf, type SaeHyper } from './types';

/**
 * The SAE train step (and the forward-only encoder) as generated ONNX graphs.
 *
 * Layout: W is held transposed, Wᵀ [nLatents, dIn], split into row blocks (latent blocks) that are
 * separate inputs/outputs, so each block's gradient and Adam update run while the block is still in
 * cache. Per block b: inputs `wt{b}`, `m{b}`, `v{b}` [rows_b, dIn]; outputs `wt{b}_next`, `m{b}_next`,
 * `v{b}_next`. Also input `x` [n, dIn] (n symbolic) and `t` (float scalar, steps done so far); outputs
 * `t_next`, `stats` [7] (STAT_NAMES), `fired` bool [nLatents]; with `gradOutput`, `grad{b}` = rows of ∇Wᵀ.
 * With AuxK on (hyper.auxk > 0) also inputs `dead` [nLatents] (1 = dead), `kaux` int64 [1] (k') and
 * `aux_norm` (s / Σ‖x − x̄‖², 0 for a step without AuxK); types.ts defines the term.
 * The first output is an empty tensor sequence (src/core/ortInPlace.ts says why).
 * The engine passes each state input's buffer as the preallocated buffer of its `_next` output. That
 * is safe because every node reading a state input precedes, by data dependency, the node writing
 * into its buffer: `wt{b}` is read by the forward product and the fired-row gather, and every update
 * needs x̂, which needs them all; `m{b}` and `v{b}` are read only by the Mul feeding their own
 * update; the Sub writing `wt{b}_next` reads `wt{b}` elementwise at the same index. Keep it so when
 * changing the graph (`t` has no such order: the engine double-buffers it).
 *
 * Sparsity: only latents that fire on some token of the batch (the union U of the per-token top-k
 * sets, and of the AuxK codes) take part in the decoder product, the backward products and the gradient; the others have
 * zero gradient, so each block gathers its fired rows of Wᵀ, works on [|U_b|, n] and scatters the
 * gradient rows into the Adam update. X·W and the Adam update stay dense. On text activations U is
 * small (most latents never fire on one document); on isotropic random data U is nearly everything
 * and the step costs what the dense products cost.
 *
 * Adam state is stored bias-corrected and pre-scaled — PyTorch's Adam rearranged so the dense update
 * needs fewer passes over [nLatents, dIn]:
 *   m{b} holds lr·m̂ = lr·m/(1−β1^t),  v{b} holds v̂ = v/(1−β2^t),  W ← W − (lr·m̂)/(√v̂ + ε).
 * Both start at zero.
 */
export interface TrainGraphOptions {
  hyper: SaeHyper;
  /** How many latent blocks Wᵀ and the moments are split into (1 … nLatents). */
  blocks: number;
  /** Also output ∇W (unscaled, blocks of ∇Wᵀ) — for gradient checks. */
  gradOutput?: boolean;
}

/** Order of the values in the `stats` output. */
export const STAT_NAMES = ['loss', 'mse', 'l1', 'decor', 'sse', 'l0', 'auxk'] as const;

/** Rows (latents) of each block: as equal as possible, in order. */
export function blockRows(nLatents: number, blocks: number): number[] {
  const base = Math.floor(nLatents / blocks);
  const extra = nLatents % blocks;
  return Array.from({ length: blocks }, (_, b) => base + (b < extra ? 1 : 0));
}

export const stateNames = (b: number) => ({ wt: `wt${b}`, m: `m${b}`, v: `v${b}` });
export const nextNames = (b: number) => ({ wt: `wt${b}_next`, m: `m${b}_next`, v: `v${b}_next` });

const OPSET = 18;

/** Small helpers over one GraphBuilder. */
function ops(g: GraphBuilder) {
  const op = (type: string, inputs: string[], attrs = {}) => g.node(type, inputs, attrs);
  return {
    op,
    num: (v: number) => g.scalar(v),
    int0: (v: number) => g.init(g.tmp('i64'), BigInt64Array.of(BigInt(v)), [], 'int64'),
    total: (parts: string[]) => (parts.length > 1 ? op('Sum', parts) : parts[0]),
  };
}

/**
 * Per-row k-th largest value of r [n, L] (≥ 0), as [n, 1]. TopK costs about the row length, so
 * when it pays a prefilter first takes, per row, the k groups of `w` neighbouring values with the
 * largest maxima: they hold every value ≥ the k-th largest (that value is ≥ the k-th largest group
 * maximum, so it and all above it sit in groups whose maximum is among the top k; with ties the k
 * chosen groups still hold k values ≥ it). TopK then runs on those k·w candidates only.
 */
function kthLargest(g: GraphBuilder, r: string, L: number, k: number): string {
  const { op, int0 } = ops(g);
  const cost = (w: number) => (w === 1 ? L : L / w + k * w);
  const w = [4, 3, 2].filter((c) => L % c === 0 && L / c > k).reduce((best, c) => (cost(c) < cost(best) ? c : best), 1);
  let cand = r;
  if (w > 1) {
    const groups = op('Reshape', [r, g.ints([0, L / w, w])]);
    const groupMax = op('ReduceMax', [groups, g.ints([2])], { keepdims: 0 });
    const [, top] = g.nodeN('TopK', [groupMax, g.ints([k])], 2, { axis: 1, largest: 1, sorted: 0 });
    // Row i's group j is row i·(L/w) + j of the groups viewed as [n·L/w, w].
    const rowStart = op('Mul', [op('Range', [int0(0), op('Gather', [op('Shape', [r]), int0(0)]), int0(1)]), int0(L / w)]);
    const at = op('Add', [top, op('Unsqueeze', [rowStart, g.ints([1])])]);
    cand = op('Reshape', [op('Gather', [op('Reshape', [groups, g.ints([-1, w])]), at], { axis: 0 }), g.ints([0, k * w])]);
  }
  const [vals] = g.nodeN('TopK', [cand, g.ints([k])], 2, { axis: 1, largest: 1, sorted: 0 });
  return op('ReduceMin', [vals, g.ints([1])], { keepdims: 1 });
}

/** Forward quantities shared by the train step and the encoder. */
interface Forward {
  n: string; // float scalar: tokens in the batch
  r: string; // [n, L] ReLU(x·W)
  thr: string; // [n, 1] each token's k-th largest of r
  idx: string[]; // per block: [u_b] int64 rows taking part (z or the AuxK code non-zero on some token)
  fired: string[]; // per block: bool [rows_b], z non-zero on some token
  zu: string[]; // per block: [u_b, n] zᵀ on those rows
  au: string[]; // per block: [u_b, n] the AuxK code's transpose on those rows (with AuxK inputs only)
  wu: string[]; // per block: [u_b, d] Wᵀ on the fired rows
  diff: string; // [n, d] x̂ − x
}

/**
 * Forward, latent-major: rᵀ_b = ReLU(W_bᵀ·xᵀ) [rows_b, n]; z keeps, per token, every value ≥ the
 * token's k-th largest of r (ties at the k-th value all kept), and x̂ = z·Wᵀ from the fired rows only.
 */
function forward(g: GraphBuilder, hyper: SaeHyper, rows: number[], x: string, aux?: { dead: string; kaux: string }): Forward {
  const { op, int0, total } = ops(g);
  const zero = g.scalar(0);
  const n = op('Cast', [op('Gather', [op('Shape', [x]), int0(0)])], { to: 1 });
  const rT = rows.map((_, b) => op('Relu', [op('Gemm', [stateNames(b).wt, x], { transB: 1 })]));
  const toRows = (parts: string[]) => op('Transpose', [parts.length > 1 ? op('Concat', parts, { axis: 0 }) : parts[0]], { perm: [1, 0] }); // [n, L]
  const r = toRows(rT);
  const keep = (partsT: string[], thr: string) => {
    const thrT = op('Transpose', [thr], { perm: [1, 0] });
    return partsT.map((rb) => op('Where', [op('GreaterOrEqual', [rb, thrT]), rb, zero]));
  };
  const anyOn = (vT: string) => op('Greater', [op('ReduceMax', [vT, g.ints([1])], { keepdims: 0 }), zero]);
  const thr = kthLargest(g, r, hyper.nLatents, hyper.k);
  const zT = keep(rT, thr);
  const fired = zT.map(anyOn);
  let aT: string[] = [];
  let takes = fired;
  if (aux) {
    // r on the dead latents only (0 elsewhere), and its top-k' code, ties kept.
    let from = 0;
    const mT = rT.map((rb, b) => {
      const col = op('Unsqueeze', [op('Slice', [aux.dead, g.ints([from]), g.ints([(from += rows[b])]), g.ints([0])]), g.ints([1])]);
      return op('Mul', [rb, col]);
    });
    const [vals] = g.nodeN('TopK', [toRows(mT), aux.kaux], 2, { axis: 1, largest: 1, sorted: 0 });
    aT = keep(mT, op('ReduceMin', [vals, g.ints([1])], { keepdims: 1 }));
    takes = fired.map((f, b) => op('Or', [f, anyOn(aT[b])]));
  }
  const idx = takes.map((f) => op('Reshape', [op('NonZero', [f]), g.ints([-1])]));
  const zu = zT.map((zb, b) => op('Gather', [zb, idx[b]], { axis: 0 }));
  const au = aT.map((ab, b) => op('Gather', [ab, idx[b]], { axis: 0 }));
  const wu = rows.map((_, b) => op('Gather', [stateNames(b).wt, idx[b]], { axis: 0 }));
  const xhat = total(zu.map((zb, b) => op('Gemm', [zb, wu[b]], { transA: 1 })));
  return { n, r, thr, idx, fired, zu, au, wu, diff: op('Sub', [xhat, x]) };
}

function declareInputs(g: GraphBuilder, d: number, rows: number[], withMoments: boolean): string {
  const x = g.input('x', 'float', ['n', d]);
  rows.forEach((rb, b) => {
    const s = stateNames(b);
    for (const name of withMoments ? [s.wt, s.m, s.v] : [s.wt]) g.input(name, 'float', [rb, d]);
  });
  return x;
}

export function buildTrainGraph(o: TrainGraphOptions): Uint8Array {
  const { dIn: d, nLatents: L, l1, decor, lr, beta1, beta2, eps } = o.hyper;
  const rows = blockRows(L, o.blocks);
  const g = new GraphBuilder('sae_train_step');
  const { op, num, total } = ops(g);
  addNoCopyOutput(g);
  const zero = num(0);
  const x = declareInputs(g, d, rows, true);
  const t = g.input('t', 'float', []);
  const alpha = auxkOf(o.hyper).coef;
  const aux = alpha > 0 ? { dead: g.input('dead', 'float', [L]), kaux: g.input('kaux', 'int64', [1]), norm: g.input('aux_norm', 'float', []) } : undefined;

  // Adam coefficients of step t+1 (see the header for the stored form of m and v).
  const t1 = op('Add', [t, num(1)]);
  const bc = (beta: number, s: string) => op('Sub', [num(1), op('Pow', [num(beta), s])]);
  const ratio1 = op('Mul', [num(beta1), op('Div', [bc(beta1, t), bc(beta1, t1)])]);
  const coef1 = op('Div', [num(lr * (1 - beta1)), bc(beta1, t1)]);
  const ratio2 = op('Mul', [num(beta2), op('Div', [bc(beta2, t), bc(beta2, t1)])]);
  const coef2 = op('Div', [num(1 - beta2), bc(beta2, t1)]);
  const kappa = op('Div', [coef2, op('Mul', [coef1, coef1])]);

  const { n, idx, fired, zu, au, wu, diff } = forward(g, o.hyper, rows, x, aux);
  const act = zu.map((zb) => op('Greater', [zb, zero])); // z ≠ 0: the top-k mask and the ReLU gate
  const sse = op('ReduceSumSquare', [diff], { keepdims: 0 });
  const invNd = op('Div', [num(1 / d), n]);
  const gx = op('Mul', [diff, op('Mul', [invNd, num(2)])]); // ∂MSE/∂x̂ [n, d]
  const zSum = total(zu.map((zb) => op('ReduceSum', [zb], { keepdims: 0 })));
  const nnz = total(act.map((a) => op('ReduceSum', [op('Cast', [a], { to: 1 })], { keepdims: 0 })));
  const l1Mean = op('Div', [zSum, op('Mul', [n, num(L)])]);

  // ∂loss/∂zᵀ on the fired rows [u_b, n], before the top-k/ReLU gate.
  const dz = zu.map((_, b) => op('Gemm', [wu[b], gx], { transB: 1 }));
  if (l1 > 0) {
    const l1Grad = op('Div', [num(l1), op('Mul', [n, num(L)])]); // λ1·sign(z)/(n·nL); sign(z) = 1 where z ≠ 0
    dz.forEach((v, b) => (dz[b] = op('Add', [v, l1Grad])));
  }
  let decorLoss = zero;
  if (decor > 0) {
    // C = Zcᵀ·Zc/(n−1) is [nL, nL]; the Gram matrix K = Zc·Zcᵀ [n, n] gives the same at n²·|U| cost:
    // Σ_{i≠j} C_ij² = (‖K‖² − Σ_j (ZcᵀZc)_jj²)/(n−1)²,  ∂/∂z = 4/(n−1)²·(K·Zc − Zc·diag(ZcᵀZc)).
    // Columns outside U are zero in Zc, so the fired rows carry everything.
    const zc = zu.map((zb) => op('Sub', [zb, op('ReduceMean', [zb, g.ints([1])], { keepdims: 1 })])); // Zcᵀ rows
    const K = total(zc.map((c) => op('Gemm', [c, c], { transA: 1 })));
    const diag = zc.map((c) => op('ReduceSumSquare', [c, g.ints([1])], { keepdims: 1 })); // [u_b, 1]
    const nm1 = op('Sub', [n, num(1)]);
    const nm1sq = op('Mul', [nm1, nm1]);
    const diagSq = total(diag.map((dg) => op('ReduceSumSquare', [dg], { keepdims: 0 })));
    decorLoss = op('Div', [op('Sub', [op('ReduceSumSquare', [K], { keepdims: 0 }), diagSq]), nm1sq]);
    const scale = op('Div', [num(4 * decor), nm1sq]);
    dz.forEach((v, b) => {
      const grad = op('Sub', [op('MatMul', [zc[b], K]), op('Mul', [zc[b], diag[b]])]); // K is symmetric
      dz[b] = op('Add', [v, op('Mul', [grad, scale])]);
    });
  }

  // AuxK: ê = a·Wᵀ against e = x − x̂ (a constant here), ∂(α·AuxK)/∂ê = 2α·norm·(ê − e).
  let auxLoss = zero;
  let hx = '';
  if (aux) {
    const auxDiff = op('Add', [total(au.map((ab, b) => op('Gemm', [ab, wu[b]], { transA: 1 }))), diff]); // ê − e = ê + (x̂ − x)
    auxLoss = op('Mul', [op('ReduceSumSquare', [auxDiff], { keepdims: 0 }), aux.norm]);
    hx = op('Mul', [auxDiff, op('Mul', [aux.norm, num(2 * alpha)])]);
  }

  // ∇Wᵀ on those rows = [zᵀ δᵀ (aᵀ δaᵀ)]·[g; x (; h; x)]: decoder parts zᵀ·g (aᵀ·h), encoder parts δᵀ·x (δaᵀ·x), δ = gated dz.
  const gxX = op('Concat', aux ? [gx, x, hx, x] : [gx, x], { axis: 0 }); // [2n or 4n, d]
  const gxXs = op('Mul', [gxX, coef1]);
  rows.forEach((rb, b) => {
    const s = stateNames(b);
    const nx = nextNames(b);
    const auxParts = aux ? [au[b], op('Where', [op('Greater', [au[b], zero]), op('Gemm', [wu[b], hx], { transB: 1 }), zero])] : [];
    const zd = op('Concat', [zu[b], op('Where', [act[b], dz[b], zero]), ...auxParts], { axis: 1 }); // [u_b, 2n or 4n]
    const gs = op('MatMul', [zd, gxXs]); // coef1·∇Wᵀ rows [u_b, d]
    const at = op('Unsqueeze', [idx[b], g.ints([1])]); // [u_b, 1]
    const addRows = (base: string, upd: string, out: string) => g.node('ScatterND', [base, at, upd], { reduction: 'add' }, [out]);
    const m1 = addRows(op('Mul', [s.m, ratio1]), gs, nx.m);
    const v1 = addRows(op('Mul', [s.v, ratio2]), op('Mul', [op('Mul', [gs, gs]), kappa]), nx.v);
    g.node('Sub', [s.wt, op('Div', [m1, op('Add', [op('Sqrt', [v1]), num(eps)])])], {}, [nx.wt]);
    for (const name of [nx.wt, nx.m, nx.v]) g.output(name, 'float', [rb, d]);
    if (o.gradOutput) {
      addRows(op('ConstantOfShape', [g.ints([rb, d])]), op('MatMul', [zd, gxX]), `grad${b}`);
      g.output(`grad${b}`, 'float', [rb, d]);
    }
  });

  const mse = op('Mul', [sse, invNd]);
  const loss = op('Sum', [mse, op('Mul', [l1Mean, num(l1)]), op('Mul', [decorLoss, num(decor)]), op('Mul', [auxLoss, num(alpha)])]);
  const stats = [loss, mse, l1Mean, decorLoss, sse, op('Div', [nnz, n]), auxLoss].map((v) => op('Unsqueeze', [v, g.ints([0])]));
  g.node('Concat', stats, { axis: 0 }, ['stats']);
  g.output('stats', 'float', [STAT_NAMES.length]);
  g.node(fired.length > 1 ? 'Concat' : 'Identity', fired, fired.length > 1 ? { axis: 0 } : {}, ['fired']);
  g.output('fired', 'bool', [L]);
  g.node('Identity', [t1], {}, ['t_next']);
  g.output('t_next', 'float', []);
  return g.toBytes(OPSET);
}

/**
 * Forward only, for the final codes: inputs `x` [n, dIn] and `wt{b}`; outputs `values`/`indices`
 * [n, c] (each token's c largest of r by descending value, lower latent first among equal values,
 * c = the largest number of kept latents of any token), `thr` [n, 1] (the kept ones are those with
 * value ≥ thr and > 0) and `sse` (Σ‖x − x̂‖²).
 */
export function buildEncodeGraph(hyper: SaeHyper, blocks: number): Uint8Array {
  const rows = blockRows(hyper.nLatents, blocks);
  const g = new GraphBuilder('sae_encode');
  const { op, num } = ops(g);
  const x = declareInputs(g, hyper.dIn, rows, false);
  const { r, thr, diff } = forward(g, hyper, rows, x);
  const kept = op('And', [op('GreaterOrEqual', [r, thr]), op('Greater', [r, num(0)])]);
  const most = op('ReduceMax', [op('ReduceSum', [op('Cast', [kept], { to: 7 }), g.ints([1])], { keepdims: 0 })], { keepdims: 1 });
  const c = op('Max', [most, g.ints([1])]); // TopK needs k ≥ 1; rows with nothing kept are filtered by value
  g.node('TopK', [r, c], { axis: 1, largest: 1, sorted: 1 }, ['values', 'indices']);
  g.node('Identity', [thr], {}, ['thr']);
  g.node('ReduceSumSquare', [diff], { keepdims: 0 }, ['sse']);
  g.output('values', 'float', ['n', 'c']);
  g.output('indices', 'int64', ['n', 'c']);
  g.output('thr', 'float', ['n', 1]);
  g.output('sse', 'float', []);
  return g.toBytes(OPSET);
}
