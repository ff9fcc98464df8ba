import type { Hook, HookKind } from '../hooks';
import { gpt2Builder, runBlocks, type Gpt2Graph } from './gpt2Graph';
import type { Gpt2Model } from './load';

/** Inputs and output of the suffix graph. */
export const SUFFIX = {
  /** float [B, T, hook.width]: B versions of the hook's value over one window. */
  hook: 'hook_value',
  /** float [T, d]: the residual the hook is added to (resumeState), from the clean pass; shared by all B. */
  state: 'hook_state',
  /** int64 [N]: window positions whose loss is wanted. */
  rows: 'loss_rows',
  /** int64 [N]: the token each of those positions predicts. */
  targets: 'target_ids',
  /** float [B, N]: −log p(target) at each wanted position, for each version. */
  nll: 'nll',
} as const;

/**
 * What resuming at a hook needs besides the hook's value: the residual stream it is added to.
 * hook_attn_out is added to resid_pre; the MLP's hooks lead to hook_mlp_out, which is added to
 * resid_mid. Residual-stream hooks carry the whole state.
 */
export function resumeState(kind: HookKind): HookKind | undefined {
  if (kind === 'hook_attn_out') return 'hook_resid_pre';
  if (kind === 'mlp.hook_pre' || kind === 'mlp.hook_post' || kind === 'hook_mlp_out') return 'hook_resid_mid';
  return undefined;
}

/**
 * GPT-2 resumed at `hook` with the hook's value given (B versions at once), run through the
 * remaining blocks, the final LayerNorm ln_f and the tied unembedding wteᵀ, to the cross-entropy
 * −log p(target) = −log_softmax(logits)[target] at the requested positions. Only the rows
 * asked for go through the unembedding, and no logits leave the graph.
 */
export function buildGpt2SuffixGraph(model: Gpt2Model, hook: Hook): Gpt2Graph {
  const b = gpt2Builder(model, 'gpt2-suffix');
  const { g, w } = b;
  const { nEmbd: d, layerNormEpsilon: eps } = model.config;
  const x = g.input(SUFFIX.hook, 'float', ['B', 'T', hook.width]);
  const stateKind = resumeState(hook.kind);
  const given = { [hook.kind]: x, ...(stateKind ? { [stateKind]: g.input(SUFFIX.state, 'float', ['T', d]) } : {}) };
  const rows = g.input(SUFFIX.rows, 'int64', ['N']);
  const targets = g.input(SUFFIX.targets, 'int64', ['N']);

  const T = g.node('Shape', [x], { start: 1, end: 2 });
  const resid = runBlocks(b, T, hook.layer, hook.kind, given, () => true)!; // [B, T, d]
  const final = g.node('LayerNormalization', [resid, w('ln_f.weight'), w('ln_f.bias')], { axis: -1, epsilon: { f: eps } });
  const picked = g.node('Gather', [final, rows], { axis: 1 }); // [B, N, d]
  const logits = g.node('Gemm', [g.node('Reshape', [picked, g.ints([-1, d])]), w('wte.weight')], { transB: 1 }); // [B·N, V]
  // LogSoftmax rather than ReduceLogSumExp − logit: onnxruntime's LogSoftmax is vectorised, ~15× faster on [B·N, 50257].
  const logp = g.node('LogSoftmax', [logits], { axis: 1 });
  const shape = g.node('Shape', [picked], { start: 0, end: 2 }); // [B, N]
  const index = g.node('Reshape', [g.node('Expand', [targets, shape]), g.ints([-1, 1])]); // [B·N, 1]
  const targetLogp = g.node('GatherElements', [logp, index], { axis: 1 }); // [B·N, 1]
  g.output(g.node('Neg', [g.node('Reshape', [targetLogp, shape])], {}, [SUFFIX.nll]), 'float', ['B', 'N']);
  return b.finish([SUFFIX.nll]);
}

/** Inputs and outputs of the logit-effect graph. */
export const LOGIT_EFFECTS = {
  /** float [n, hook.width]: decoder rows. */
  directions: 'directions',
  /** float/int64 [n, K]: largest logits (descending) and their token ids. */
  topValues: 'top_values',
  topIds: 'top_ids',
  /** float/int64 [n, K]: smallest logits (ascending) and their token ids. */
  bottomValues: 'bottom_values',
  bottomIds: 'bottom_ids',
} as const;

/**
 * Direct logit effects of decoder rows, as sae_vis and Neuronpedia show them: the row as a
 * residual-stream direction (itself for hooks that are or add to the residual stream; row ·
 * mlp.c_proj.weight for mlp.hook_post) times the tied unembedding wteᵀ, without ln_f; the K
 * largest and K smallest logits with their token ids. mlp.hook_pre has no linear path to the
 * logits (GELU lies between), so it has no such graph.
 */
export function buildLogitEffectGraph(model: Gpt2Model, hook: Hook, K: number): Gpt2Graph {
  if (hook.kind === 'mlp.hook_pre') throw new Error('mlp.hook_pre has no linear path to the logits');
  const b = gpt2Builder(model, 'gpt2-logit-effects');
  const { g, w } = b;
  const rows = g.input(LOGIT_EFFECTS.directions, 'float', ['n', hook.width]);
  const direction = hook.kind === 'mlp.hook_post' ? g.node('MatMul', [rows, w(`h.${hook.layer}.mlp.c_proj.weight`)]) : rows; // [n, d]
  const logits = g.node('Gemm', [direction, w('wte.weight')], { transB: 1 }); // [n, V]
  const k = g.ints([K]);
  g.node('TopK', [logits, k], { axis: -1, largest: 1, sorted: 1 }, [LOGIT_EFFECTS.topValues, LOGIT_EFFECTS.topIds]);
  g.node('TopK', [logits, k], { axis: -1, largest: 0, sorted: 1 }, [LOGIT_EFFECTS.bottomValues, LOGIT_EFFECTS.bottomIds]);
  g.output(LOGIT_EFFECTS.topValues, 'float', ['n', K]);
  g.output(LOGIT_EFFECTS.topIds, 'int64', ['n', K]);
  g.output(LOGIT_EFFECTS.bottomValues, 'float', ['n', K]);
  g.output(LOGIT_EFFECTS.bottomIds, 'int64', ['n', K]);
  return b.finish(Object.values(LOGIT_EFFECTS).slice(1));
}
