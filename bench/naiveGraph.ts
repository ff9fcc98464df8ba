import { GraphBuilder } from '../src/core/onnx/builder';
import type { SaeHyper } from '../src/core/sae/types';

/**
 * The naive dense train-step graph from the planning measurements, kept as the speed reference:
 * W [dIn, nL]; every product dense; the covariance term through the full [nL, nL] matrix; Adam in
 * PyTorch's form on raw moments. Inputs x [n, dIn], w, m, v [dIn, nL], t (steps done);
 * outputs w_next, m_next, v_next, t_next, loss.
 */
export function buildNaiveGraph(h: SaeHyper): Uint8Array {
  const { dIn: d, nLatents: L, k } = h;
  const g = new GraphBuilder('sae_naive_step');
  const op = (type: string, inputs: string[], attrs = {}) => g.node(type, inputs, attrs);
  const num = (v: number) => g.scalar(v);
  const x = g.input('x', 'float', ['n', d]);
  for (const name of ['w', 'm', 'v']) g.input(name, 'float', [d, L]);
  const t = g.input('t', 'float', []);
  const n = op('Cast', [op('Gather', [op('Shape', [x]), g.init(g.tmp('i'), BigInt64Array.of(0n), [], 'int64')])], { to: 1 });

  const pre = op('MatMul', [x, 'w']);
  const r = op('Relu', [pre]);
  const [vals] = g.nodeN('TopK', [r, g.ints([k])], 2, { axis: 1 });
  const kth = op('Slice', [vals, g.ints([k - 1]), g.ints([k]), g.ints([1])]);
  const mask = op('Cast', [op('GreaterOrEqual', [r, kth])], { to: 1 });
  const z = op('Mul', [r, mask]);
  const diff = op('Sub', [op('MatMul', [z, op('Transpose', ['w'])]), x]);
  const mse = op('ReduceMean', [op('Mul', [diff, diff])], { keepdims: 0 });
  const gx = op('Mul', [diff, op('Div', [num(2 / d), n])]);
  let dz = op('MatMul', [gx, 'w']);
  let loss = mse;
  if (h.l1 > 0) {
    loss = op('Add', [loss, op('Mul', [op('ReduceMean', [z], { keepdims: 0 }), num(h.l1)])]);
    dz = op('Add', [dz, op('Mul', [op('Sign', [z]), op('Div', [num(h.l1 / L), n])])]);
  }
  if (h.decor > 0) {
    const zc = op('Sub', [z, op('ReduceMean', [z, g.ints([0])], { keepdims: 1 })]);
    const nm1 = op('Sub', [n, num(1)]);
    const C = op('Div', [op('MatMul', [op('Transpose', [zc]), zc]), nm1]);
    const off = op('Sub', [C, op('Mul', [C, op('EyeLike', [C])])]);
    loss = op('Add', [loss, op('Mul', [op('ReduceSum', [op('Mul', [off, off])], { keepdims: 0 }), num(h.decor)])]);
    dz = op('Add', [dz, op('Mul', [op('MatMul', [zc, off]), op('Div', [num(4 * h.decor), nm1])])]);
  }
  const gate = op('Mul', [mask, op('Cast', [op('Greater', [pre, num(0)])], { to: 1 })]);
  const grad = op('Add', [op('MatMul', [op('Transpose', [x]), op('Mul', [dz, gate])]), op('MatMul', [op('Transpose', [gx]), z])]);

  const t1 = op('Add', [t, num(1)]);
  const m1 = g.node('Add', [op('Mul', ['m', num(h.beta1)]), op('Mul', [grad, num(1 - h.beta1)])], {}, ['m_next']);
  const v1 = g.node('Add', [op('Mul', ['v', num(h.beta2)]), op('Mul', [op('Mul', [grad, grad]), num(1 - h.beta2)])], {}, ['v_next']);
  const mHat = op('Div', [m1, op('Sub', [num(1), op('Pow', [num(h.beta1), t1])])]);
  const vHat = op('Div', [v1, op('Sub', [num(1), op('Pow', [num(h.beta2), t1])])]);
  g.node('Sub', ['w', op('Div', [op('Mul', [mHat, num(h.lr)]), op('Add', [op('Sqrt', [vHat]), num(h.eps)])])], {}, ['w_next']);
  g.node('Identity', [t1], {}, ['t_next']);
  g.node('Identity', [loss], {}, ['loss']);
  for (const name of ['w_next', 'm_next', 'v_next']) g.output(name, 'float', [d, L]);
  g.output('t_next', 'float', []);
  g.output('loss', 'float', []);
  return g.toBytes(18);
}
