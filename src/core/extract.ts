import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from './errors';
import { parseHook, type Hook } from './hooks';
import { buildGpt2Graph, INPUT_IDS, POSITION_IDS } from './model/gpt2Graph';
import type { Gpt2Model } from './model/load';
import { openSessions, type Provider, type ProviderRequest } from './ortSessions';
import { tokenize, type Token } from './tokenizer';

export type { Provider, ProviderRequest };

export interface ExtractOptions {
  /** onnxruntime intra-op threads; default: onnxruntime's choice (one per physical core). */
  threads?: number;
  /** 'auto' (default) uses CUDA when its provider library is installed and works, else the CPU. */
  provider?: ProviderRequest;
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

interface Loaded {
  session: ort.InferenceSession;
  provider: Provider;
}

/** Sessions per (weights file, hook set, threads, provider request), for the life of the process. */
const sessions = new Map<string, Promise<Loaded>>();

async function createSession(model: Gpt2Model, hooks: Hook[], threads: number | undefined, request: ProviderRequest): Promise<Loaded> {
  const graph = buildGpt2Graph(model, hooks);
  const { sessions: [session], provider } = await openSessions([graph.bytes], request, {
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { model_external_initializers_file_folder_path: graph.weightsDir } },
  });
  return { session, provider };
}

function session(model: Gpt2Model, hooks: Hook[], threads: number | undefined, request: ProviderRequest): Promise<Loaded> {
  const st = fs.statSync(model.weightsPath);
  const key = JSON.stringify([path.resolve(model.weightsPath), st.size, st.mtimeMs, hooks.map((h) => h.name).sort(), threads ?? null, request]);
  let loaded = sessions.get(key);
  if (!loaded) {
    loaded = createSession(model, hooks, threads, request);
    sessions.set(key, loaded);
    loaded.catch(() => sessions.delete(key));
  }
  return loaded;
}

function checkTokens(tokens: Token[], model: Gpt2Model): void {
  if (tokens.length === 0) throw new UserError('nothing to tokenize: the token list is empty. Give a document that contains text.', 'E_EMPTY');
  const bad = tokens.find((t) => !Number.isInteger(t.id) || t.id < 0 || t.id >= model.config.vocabSize);
  if (bad) {
    throw new UserError(`token ${JSON.stringify(bad.text)} has id ${bad.id}, outside ${model.label}'s vocabulary of ${model.config.vocabSize}; use a model with GPT-2's 50257-token vocabulary.`, 'E_VOCAB');
  }
}

/**
 * Runs GPT-2 over a document (text, or tokens already made by `tokenize`) and returns every
 * token's activations at each of `hookNames` (full TransformerLens names such as
 * "blocks.6.hook_mlp_out"). Long documents are cut into windows as `planWindows` describes.
 */
export async function extractActivations(input: string | Token[], model: Gpt2Model, hookNames: string[], opts: ExtractOptions = {}): Promise<Extraction> {
  const t0 = performance.now();
  if (hookNames.length === 0) throw new UserError('no hook requested; name at least one, e.g. blocks.6.hook_mlp_out.', 'E_HOOK');
  const hooks = [...new Map(hookNames.map((n) => parseHook(n, model.config)).map((h) => [h.name, h])).values()];
  const tokens = typeof input === 'string' ? tokenize(input) : input;
  checkTokens(tokens, model);
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new UserError(`threads must be a positive integer, got ${opts.threads}.`, 'E_USAGE');
  }

  const { session: s, provider } = await session(model, hooks, opts.threads, opts.provider ?? 'auto');
  const T = tokens.length;
  const acts = new Map(hooks.map((h) => [h.name, new Float32Array(T * h.width)]));
  for (const win of planWindows(T, model.config.nPositions)) {
    opts.signal?.throwIfAborted();
    const n = win.end - win.start;
    const ids = BigInt64Array.from(tokens.slice(win.start, win.end), (t) => BigInt(t.id));
    const positions = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    const out = await s.run({ [INPUT_IDS]: new ort.Tensor('int64', ids, [n]), [POSITION_IDS]: new ort.Tensor('int64', positions, [n]) });
    for (const h of hooks) {
      const rows = (out[h.name].data as Float32Array).subarray((win.keepFrom - win.start) * h.width);
      acts.get(h.name)!.set(rows, win.keepFrom * h.width);
    }
  }
  return { tokens, acts, provider, ms: performance.now() - t0 };
}
