import * as path from 'node:path';
import { GraphBuilder, tensorProto } from '../onnx/builder';
import { HOOK_KINDS, type Hook, type HookKind } from '../hooks';
import { tensor, type Gpt2Model } from './load';

/** Graph inputs: token ids and their positions within the window, both int64 [T]. */
export const INPUT_IDS = 'input_ids';
export const POSITION_IDS = 'position_ids';

export interface Gpt2Graph {
  /** Serialized ModelProto; its weights are external data in `weightsDir`. */
  bytes: Uint8Array;
  /**
   * Directory the external data's `location` is relative to: onnxruntime must be told it
   * (session config `session.model_external_initializers_file_folder_path`) because the model
   * is created from bytes, not from a file.
   */
  weightsDir: string;
  /** Output names = hook names, each float [T, hook.width]. */
  outputs: string[];
}

/**
 * GPT-2's forward pass (opset 17) for one window of T tokens, from the embeddings up to the last
 * requested hook and no further. Every weight is an external-data initializer pointing at its byte
 * range in model.safetensors, so nothing is copied: HF's Conv1D weights are stored [in, out], which
 * is already MatMul's right-hand operand.
 */
export function buildGpt2Graph(model: Gpt2Model, hooks: Hook[]): Gpt2Graph {
  const { nEmbd: d, nHead: H, layerNormEpsilon: eps } = model.config;
  const dh = d / H;
  const g = new GraphBuilder('gpt2');
  const location = path.basename(model.weightsPath);
  const w = (name: string): string => {
    const e = tensor(model, name);
    return g.initExternal(name, e.shape, location, e.begin, e.end - e.begin);
  };
  const wanted = new Map(hooks.map((h) => [h.order, h]));
  const last = Math.max(...hooks.map((h) => h.order));
  /** Marks a value as a hook's output when that hook was requested; false once past the last one. */
  const emit = (layer: number, kind: HookKind, value: string): boolean => {
    const order = layer * HOOK_KINDS.length + HOOK_KINDS.indexOf(kind);
    const hook = wanted.get(order);
    if (hook) g.output(g.node('Identity', [value], {}, [hook.name]), 'float', ['T', hook.width]);
    return order < last;
  };

  const ids = g.input(INPUT_IDS, 'int64', ['T']);
  const pos = g.input(POSITION_IDS, 'int64', ['T']);
  let x = g.node('Add', [g.node('Gather', [w('wte.weight'), ids]), g.node('Gather', [w('wpe.weight'), pos])]); // [T, d]

  // Additive causal mask [T, T]: -1e9 above the diagonal, 0 elsewhere.
  const T = g.node('Shape', [ids]);
  const full = g.node('ConstantOfShape', [g.node('Concat', [T, T], { axis: 0 })], { value: { t: tensorProto('', Float32Array.of(-1e9), [1], 'float') } });
  const mask = g.node('Trilu', [full, g.init(g.tmp('k'), BigInt64Array.of(1n), [], 'int64')], { upper: 1 });

  const headsShape = g.ints([-1, H, dh]);
  const flatShape = g.ints([-1, d]);
  const split = g.ints([d, d, d]);
  const scale = g.scalar(1 / Math.sqrt(dh));
  const linear = (v: string, prefix: string) => g.node('Add', [g.node('MatMul', [v, w(`${prefix}.weight`)]), w(`${prefix}.bias`)]);
  const layerNorm = (v: string, prefix: string) => g.node('LayerNormalization', [v, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: { f: eps } });
  const [half, one, cubic, sqrt2OverPi] = [0.5, 1, 0.044715, Math.sqrt(2 / Math.PI)].map((v) => g.scalar(v));

  for (let L = 0; ; L++) {
    if (!emit(L, 'hook_resid_pre', x)) break;
    const h = `h.${L}`;
    const [q, k, v] = g.nodeN('Split', [linear(layerNorm(x, `${h}.ln_1`), `${h}.attn.c_attn`), split], 3, { axis: 1 }); // each [T, d]
    const heads = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, headsShape])], { perm });
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [heads(q, [1, 0, 2]), heads(k, [1, 2, 0])]), scale]), mask]); // [H, T, T]
    const ctx = g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), heads(v, [1, 0, 2])]); // [H, T, dh]
    const attn = linear(g.node('Reshape', [g.node('Transpose', [ctx], { perm: [1, 0, 2] }), flatShape]), `${h}.attn.c_proj`);
    const mid = g.node('Add', [x, attn]);

    const pre = linear(layerNorm(mid, `${h}.ln_2`), `${h}.mlp.c_fc`); // [T, 4d]
    if (!emit(L, 'mlp.hook_pre', pre)) break;
    // gelu_new(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const cube = g.node('Mul', [g.node('Mul', [pre, pre]), pre]);
    const inner = g.node('Mul', [g.node('Add', [pre, g.node('Mul', [cube, cubic])]), sqrt2OverPi]);
    const post = g.node('Mul', [g.node('Mul', [pre, half]), g.node('Add', [g.node('Tanh', [inner]), one])]);
    if (!emit(L, 'mlp.hook_post', post)) break;
    const out = linear(post, `${h}.mlp.c_proj`);
    if (!emit(L, 'hook_mlp_out', out)) break;
    x = g.node('Add', [mid, out]);
    if (!emit(L, 'hook_resid_post', x)) break;
  }
  return { bytes: g.toBytes(17), weightsDir: path.dirname(model.weightsPath), outputs: hooks.map((h) => h.name) };
}
