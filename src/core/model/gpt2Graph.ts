import * as path from 'node:path';
import { GraphBuilder, tensorProto } from '../onnx/builder';
import { HOOK_KINDS, hookOrder, type Hook, type HookKind } from '../hooks';
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
  /** Output names (for the extraction graph: hook names, each float [T, hook.width]). */
  outputs: string[];
}

/**
 * A graph under construction whose weights are external-data initializers pointing at their byte
 * ranges in model.safetensors, so nothing is copied: HF's Conv1D weights are stored [in, out],
 * which is already MatMul's right-hand operand.
 */
export interface Gpt2Builder {
  g: GraphBuilder;
  model: Gpt2Model;
  /** The initializer of a checkpoint tensor named without prefix, e.g. "h.0.ln_1.weight". */
  w(name: string): string;
  finish(outputs: string[]): Gpt2Graph;
}

export function gpt2Builder(model: Gpt2Model, name: string): Gpt2Builder {
  const g = new GraphBuilder(name);
  const location = path.basename(model.weightsPath);
  const added = new Set<string>();
  return {
    g,
    model,
    w(tensorName) {
      if (added.has(tensorName)) return tensorName;
      added.add(tensorName);
      const e = tensor(model, tensorName);
      return g.initExternal(tensorName, e.shape, location, e.begin, e.end - e.begin);
    },
    finish: (outputs) => ({ bytes: g.toBytes(17), weightsDir: path.dirname(model.weightsPath), outputs }),
  };
}

/** The values of one block's hooks that are known so far, by kind. */
export type BlockValues = Partial<Record<HookKind, string>>;

/** Additive causal mask [T, T] from a 1-D int64 tensor holding T: −1e9 above the diagonal, 0 elsewhere. */
function causalMask(g: GraphBuilder, T: string): string {
  const full = g.node('ConstantOfShape', [g.node('Concat', [T, T], { axis: 0 })], { value: { t: tensorProto('', Float32Array.of(-1e9), [1], 'float') } });
  return g.node('Trilu', [full, g.init(g.tmp('k'), BigInt64Array.of(1n), [], 'int64')], { upper: 1 });
}

/**
 * GPT-2's blocks on values laid out [B, T, ·] (B independent copies of one window of T tokens),
 * from hook `kind` of block `layer` on. `given` holds that hook's value and whatever else it does
 * not determine (resumeState); every later hook in forward order is computed from them.
 * `emit(layer, kind, value)` sees each hook from the start on and returns false to stop there.
 * Returns the residual stream after the last block, or undefined when stopped.
 */
export function runBlocks(b: Gpt2Builder, T: string, layer: number, kind: HookKind, given: BlockValues, emit: (layer: number, kind: HookKind, value: string) => boolean): string | undefined {
  const { g, w } = b;
  const { nEmbd: d, nHead: H, nLayer, layerNormEpsilon: eps } = b.model.config;
  const dh = d / H;
  const mask = causalMask(g, T);
  const headsShape = g.ints([0, 0, H, dh]);
  const flatShape = g.ints([0, 0, d]);
  const split = g.ints([d, d, d]);
  const scale = g.scalar(1 / Math.sqrt(dh));
  const linear = (v: string, prefix: string) => g.node('Add', [g.node('MatMul', [v, w(`${prefix}.weight`)]), w(`${prefix}.bias`)]);
  const layerNorm = (v: string, prefix: string) => g.node('LayerNormalization', [v, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: { f: eps } });
  const [half, one, cubic, sqrt2OverPi] = [0.5, 1, 0.044715, Math.sqrt(2 / Math.PI)].map((v) => g.scalar(v));

  const attention = (x: string, h: string): string => {
    const [q, k, v] = g.nodeN('Split', [linear(layerNorm(x, `${h}.ln_1`), `${h}.attn.c_attn`), split], 3, { axis: -1 }); // each [B, T, d]
    const heads = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, headsShape])], { perm });
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])]), scale]), mask]); // [B, H, T, T]
    const ctx = g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), heads(v, [0, 2, 1, 3])]); // [B, H, T, dh]
    return linear(g.node('Reshape', [g.node('Transpose', [ctx], { perm: [0, 2, 1, 3] }), flatShape]), `${h}.attn.c_proj`);
  };
  // gelu_new(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
  const gelu = (x: string): string => {
    const cube = g.node('Mul', [g.node('Mul', [x, x]), x]);
    const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [cube, cubic])]), sqrt2OverPi]);
    return g.node('Mul', [g.node('Mul', [x, half]), g.node('Add', [g.node('Tanh', [inner]), one])]);
  };

  let v: BlockValues = { ...given };
  let from = HOOK_KINDS.indexOf(kind);
  for (let L = layer; L < nLayer; L++, from = 0) {
    const h = `h.${L}`;
    const compute: Record<HookKind, () => string> = {
      hook_resid_pre: () => {
        throw new Error(`runBlocks: block ${L} has no residual input`);
      },
      hook_attn_out: () => attention(v.hook_resid_pre!, h),
      hook_resid_mid: () => g.node('Add', [v.hook_resid_pre!, v.hook_attn_out!]),
      'mlp.hook_pre': () => linear(layerNorm(v.hook_resid_mid!, `${h}.ln_2`), `${h}.mlp.c_fc`),
      'mlp.hook_post': () => gelu(v['mlp.hook_pre']!),
      hook_mlp_out: () => linear(v['mlp.hook_post']!, `${h}.mlp.c_proj`),
      hook_resid_post: () => g.node('Add', [v.hook_resid_mid!, v.hook_mlp_out!]),
    };
    for (const k of HOOK_KINDS.slice(from)) {
      const value = (v[k] ??= compute[k]());
      if (!emit(L, k, value)) return undefined;
    }
    v = { hook_resid_pre: v.hook_resid_post };
  }
  return v.hook_resid_pre;
}

/**
 * GPT-2's forward pass (opset 17) for one window of T tokens, from the embeddings up to the last
 * requested hook and no further.
 */
export function buildGpt2Graph(model: Gpt2Model, hooks: Hook[]): Gpt2Graph {
  const b = gpt2Builder(model, 'gpt2');
  const { g, w } = b;
  const wanted = new Map(hooks.map((h) => [h.order, h]));
  const last = Math.max(...hooks.map((h) => h.order));
  const axis0 = g.ints([0]);

  const ids = g.input(INPUT_IDS, 'int64', ['T']);
  const pos = g.input(POSITION_IDS, 'int64', ['T']);
  const embedded = g.node('Add', [g.node('Gather', [w('wte.weight'), ids]), g.node('Gather', [w('wpe.weight'), pos])]); // [T, d]
  runBlocks(b, g.node('Shape', [ids]), 0, 'hook_resid_pre', { hook_resid_pre: g.node('Unsqueeze', [embedded, axis0]) }, (layer, kind, value) => {
    const order = hookOrder(layer, kind);
    const hook = wanted.get(order);
    if (hook) g.output(g.node('Squeeze', [value, axis0], {}, [hook.name]), 'float', ['T', hook.width]);
    return order < last;
  });
  return b.finish(hooks.map((h) => h.name));
}
