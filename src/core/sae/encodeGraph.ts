import { GraphBuilder } from '../onnx/builder';
import type { SaeActivation } from './model';

/** What the encode graph is built for; its weights are inputs, so one graph serves every SAE of that kind. */
export interface EncodeGraphSpec {
  dIn: number;
  dSae: number;
  activation: SaeActivation['kind'];
  /** topk only. */
  k?: number;
}

/**
 * The encoder of an SAE model (src/core/sae/model.ts) from its normalised input on: inputs `x`
 * [n, d_in] (already (x − μ)·s_in − b_dec), `W_enc` [d_in, d_sae], `b_enc` [d_sae], and for jumprelu
 * `threshold` [d_sae]; pre = x·W_enc + b_enc and z by the model's activation rule. Outputs `values`
 * and `indices` [n, c]: each token's c largest z by descending value (lower latent first among equal
 * values), c = the largest number of non-zero latents of any token (at least 1; a row's non-zero
 * codes are its values > 0).
 */
export function buildEncodeGraph(spec: EncodeGraphSpec): Uint8Array {
  const { dIn: d, dSae: L } = spec;
  const g = new GraphBuilder('sae_apply_encode');
  const op = (type: string, inputs: string[], attrs = {}) => g.node(type, inputs, attrs);
  const x = g.input('x', 'float', ['n', d]);
  const pre = op('Add', [op('MatMul', [x, g.input('W_enc', 'float', [d, L])]), g.input('b_enc', 'float', [L])]);
  const zero = g.scalar(0);
  let z: string;
  if (spec.activation === 'relu') {
    z = op('Relu', [pre]);
  } else if (spec.activation === 'jumprelu') {
    z = op('Where', [op('Greater', [pre, g.input('threshold', 'float', [L])]), op('Relu', [pre]), zero]);
  } else {
    const [top] = g.nodeN('TopK', [pre, g.ints([spec.k!])], 2, { axis: 1, largest: 1, sorted: 0 });
    const kth = op('ReduceMin', [top, g.ints([1])], { keepdims: 1 });
    z = op('Where', [op('And', [op('GreaterOrEqual', [pre, kth]), op('Greater', [pre, zero])]), pre, zero]);
  }
  const nonzero = op('ReduceSum', [op('Cast', [op('Greater', [z, zero])], { to: 7 }), g.ints([1])], { keepdims: 0 });
  const c = op('Max', [op('ReduceMax', [nonzero, g.ints([0])], { keepdims: 1 }), g.ints([1])]);
  g.node('TopK', [z, c], { axis: 1, largest: 1, sorted: 1 }, ['values', 'indices']);
  g.output('values', 'float', ['n', 'c']);
  g.output('indices', 'int64', ['n', 'c']);
  return g.toBytes(18);
}
