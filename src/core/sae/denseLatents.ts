import { GraphBuilder } from '../onnx/builder';
import { addNoCopyOutput } from '../ortInPlace';

/**
 * The train step's dense latents (kernelEngine.ts): in a chunk of tokens, the latents kept by at least
 * DENSE_SHARE of them get their decoder sum and gradient from onnxruntime's GEMM on their codes as
 * dense rows zᵀ [m, n] (0 where a token does not keep the latent) instead of from the sparse kernels.
 * A dense product costs every token of the chunk, kept or not, but the GEMM does ~4× the
 * multiply-adds per second of the 128-bit kernels here, so it is cheaper from about a fifth of the
 * tokens on. Top-k codes of real activations have many such latents: on the random GPT-2-Small-shaped
 * model at workload S (k 384 of 6144), 8 % of the latents hold 75 % of a chunk's entries at this share.
 * The sums are the kernels' terms in another order; the train graph (trainGraph.ts) stays the oracle.
 */
export const DENSE_SHARE = 0.2;

/**
 * The latents of a chunk of c tokens that go dense, from its codes by latent (columns kernel: colPtr
 * [L + 1], colTok): kept by ≥ `share` of the tokens and without AuxK entries (tokens ≥ c, last in a
 * column), in latent order into `ids`; returns how many.
 */
export function pickDenseLatents(colPtr: Int32Array, colTok: Int32Array, c: number, share: number, ids: Int32Array): number {
  const min = Math.max(1, Math.ceil(share * c));
  let m = 0;
  for (let j = 0; j + 1 < colPtr.length; j++) {
    if (colPtr[j + 1] - colPtr[j] >= min && colTok[colPtr[j + 1] - 1] < c) ids[m++] = j;
  }
  return m;
}

/**
 * y [n, d] = z·Wᵀ_ids = Σ_s zᵀ[s]ᵀ ⊗ Wᵀ_ids[s]: the dense latents' part of x̂; also outputs their rows
 * wd = Wᵀ_ids [m, d], which the gradient graph reads.
 */
export function buildDenseDecodeGraph(d: number, L: number): Uint8Array {
  const g = new GraphBuilder('sae_dense_decode');
  addNoCopyOutput(g);
  const zt = g.input('zt', 'float', ['m', 'n']);
  const wt = g.input('wt', 'float', [L, d]);
  const ids = g.input('ids', 'int64', ['m']);
  g.node('Gather', [wt, ids], { axis: 0 }, ['wd']);
  g.node('Gemm', [zt, 'wd'], { transA: 1 }, ['y']);
  g.output('y', 'float', ['n', d]);
  g.output('wd', 'float', ['m', d]);
  return g.toBytes(18);
}

/**
 * The dense latents' gradient rows [m, d], without the factor c of the backward kernel (which adds
 * them, times c, into ∇Wᵀ):
 *   ∇/c = zᵀ·res + δᵀ·x,  δᵀ = keptᵀ ⊙ (Wᵀ_ids·resᵀ + l1Grad/c),  kept = z > 0 (codes are ≥ 0)
 * the backward kernel's sums over those latents' entries (the other tokens' terms are zero). Without
 * L1 (`l1` false) the l1Grad/c input is left out.
 */
export function buildDenseGradGraph(d: number, l1: boolean): Uint8Array {
  const g = new GraphBuilder('sae_dense_grad');
  addNoCopyOutput(g);
  const res = g.input('res', 'float', ['n', d]);
  const x = g.input('x', 'float', ['n', d]);
  const zt = g.input('zt', 'float', ['m', 'n']);
  const wd = g.input('wd', 'float', ['m', d]); // Wᵀ_ids, from the decode graph
  const dots = g.node('Gemm', [wd, res], { transB: 1 });
  const delta = g.node('Mul', [g.node('Sign', [zt]), l1 ? g.node('Add', [dots, g.input('l1_grad', 'float', [1])]) : dots]);
  g.node('Gemm', [zt, res, g.node('Gemm', [delta, x])], {}, ['grad']);
  g.output('grad', 'float', ['m', d]);
  return g.toBytes(18);
}
