import * as ort from 'onnxruntime-node';
import { UserError } from './errors';
import { parseHook, type Hook } from './hooks';
import { buildGpt2Graph, INPUT_IDS, POSITION_IDS } from './model/gpt2Graph';
import type { Gpt2Model } from './model/load';
import { gpt2Session, type SessionOptions } from './model/sessions';
import type { Provider, ProviderRequest } from './ortSessions';
import { tokenize, type Token } from './tokenizer';

export type { Provider, ProviderRequest };

export interface ExtractOptions extends SessionOptions {
  /** Checked between windows. */
  signal?: AbortSignal;
}

export interface Extraction {
  tokens: Token[];
  /** Hook name → activations, row t belonging to tokens[t]: Float32Array [T, hook.width]. */
  acts: Map<string, Float32Array>;
  /** The execution provider that ran. */
  provider: Provider;
  /** Wall time of the call, including session creation when it was not cached. */
  ms: number;
}

/** One run of the model: tokens [start, end) at positions 0..end-start-1; it supplies rows [keepFrom, end). */
export interface Window {
  start: number;
  end: number;
  keepFrom: number;
}

/**
 * How a document of T tokens is cut for a model with context P (config.nPositions). With
 * C = floor(P / 4) (256 for GPT-2) and stride S = P − C, window k covers tokens
 * [k·S, min(T, k·S + P)) and positions restart at 0 in every window. Window 0 supplies the
 * activations of tokens [0, P); window k ≥ 1 supplies those of [k·S + C, min(T, k·S + P)), the
 * tokens the previous window did not reach. So every token i ≥ P is computed with exactly
 * i − k·S ≥ C tokens of left context, the tokens [k·S, i]: its activations are those of the model
 * run on that window alone (GPT-2 is causal), whatever precedes the window. They are not
 * those of a longer context: position embeddings and attention make them depend on where the
 * window starts, which is why the rule fixes it.
 */
export function planWindows(T: number, P: number): Window[] {
  const C = Math.floor(P / 4);
  const S = P - C;
  const windows: Window[] = [{ start: 0, end: Math.min(T, P), keepFrom: 0 }];
  for (let start = S; windows[windows.length - 1].end < T; start += S) {
    windows.push({ start, end: Math.min(T, start + P), keepFrom: start + C });
  }
  return windows;
}

function checkTokens(tokens: readonly Pick<Token, 'id' | 'text'>[], model: Gpt2Model): void {
  if (tokens.length === 0) throw new UserError('nothing to tokenize: the token list is empty. Give a document that contains text.', 'E_EMPTY');
  const bad = tokens.find((t) => !Number.isInteger(t.id) || t.id < 0 || t.id >= model.config.vocabSize);
  if (bad) {
    throw new UserError(`token ${JSON.stringify(bad.text)} has id ${bad.id}, outside ${model.label}'s vocabulary of ${model.config.vocabSize}; use a model with GPT-2's 50257-token vocabulary.`, 'E_VOCAB');
  }
}

/** Runs the extraction graph on windows of one document: `run(win)` gives every row of the window. */
export interface WindowRunner {
  hooks: Hook[];
  provider: Provider;
  /**
   * Hook name → Float32Array [lead.length + win.end − win.start, hook.width]: the lead's rows, then
   * row lead.length + i belonging to tokens[win.start + i].
   */
  run(win: Window): Promise<Map<string, Float32Array>>;
}

/**
 * Checks the tokens and the options and opens (or reuses) the extraction session for `hookNames`.
 * `lead` runs before every window, positions from 0 at its first token (an SAE trained with BOS
 * gets [BOS]; plan the windows one shorter then).
 */
export async function windowRunner(tokens: readonly Pick<Token, 'id' | 'text'>[], model: Gpt2Model, hookNames: string[], opts: ExtractOptions = {}, lead: readonly Pick<Token, 'id' | 'text'>[] = []): Promise<WindowRunner> {
  if (hookNames.length === 0) throw new UserError('no hook requested; name at least one, e.g. blocks.6.hook_mlp_out.', 'E_HOOK');
  const hooks = [...new Map(hookNames.map((n) => parseHook(n, model.config)).map((h) => [h.name, h])).values()];
  checkTokens(tokens, model);
  if (lead.length) checkTokens(lead, model);
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new UserError(`threads must be a positive integer, got ${opts.threads}.`, 'E_USAGE');
  }
  const graphKey = JSON.stringify(['extract', hooks.map((h) => h.name).sort()]);
  const { session: s, provider } = await gpt2Session(model, graphKey, () => buildGpt2Graph(model, hooks), opts);
  return {
    hooks,
    provider,
    async run(win) {
      opts.signal?.throwIfAborted();
      const n = lead.length + win.end - win.start;
      const ids = BigInt64Array.from([...lead, ...tokens.slice(win.start, win.end)], (t) => BigInt(t.id));
      const positions = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
      const out = await s.run({ [INPUT_IDS]: new ort.Tensor('int64', ids, [n]), [POSITION_IDS]: new ort.Tensor('int64', positions, [n]) });
      return new Map(hooks.map((h) => [h.name, out[h.name].data as Float32Array]));
    },
  };
}

/**
 * Runs the windows of a document of T tokens (planWindows with context P) in order and hands each
 * window's rows to `take(from, rows)`: hook name → the rows of tokens [from, win.end), the ones the
 * window supplies. Windows that `needed` declines are not run.
 */
export async function runWindows(runner: WindowRunner, T: number, P: number, take: (from: number, rows: Map<string, Float32Array>) => void, needed: (win: Window) => boolean = () => true): Promise<void> {
  for (const win of planWindows(T, P)) {
    if (!needed(win)) continue;
    const out = await runner.run(win);
    take(win.keepFrom, new Map(runner.hooks.map((h) => [h.name, out.get(h.name)!.subarray((win.keepFrom - win.start) * h.width)])));
  }
}

/**
 * Runs GPT-2 over a document (text, or tokens already made by `tokenize`) and returns every
 * token's activations at each of `hookNames` (full TransformerLens names such as
 * "blocks.6.hook_mlp_out"). Long documents are cut into windows as `planWindows` describes.
 */
export async function extractActivations(input: string | Token[], model: Gpt2Model, hookNames: string[], opts: ExtractOptions = {}): Promise<Extraction> {
  const t0 = performance.now();
  const tokens = typeof input === 'string' ? tokenize(input) : input;
  const runner = await windowRunner(tokens, model, hookNames, opts);
  const T = tokens.length;
  const acts = new Map(runner.hooks.map((h) => [h.name, new Float32Array(T * h.width)]));
  await runWindows(runner, T, model.config.nPositions, (from, rows) => {
    for (const h of runner.hooks) acts.get(h.name)!.set(rows.get(h.name)!, from * h.width);
  });
  return { tokens, acts, provider: runner.provider, ms: performance.now() - t0 };
}
