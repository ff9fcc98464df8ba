import * as path from 'node:path';
import { readActivationsFile } from './activationsFile';
import { CancelledError, isCancelled, throwIfAborted, UserError } from './errors';
import { extractActivations } from './extract';
import { hookKindOf, hookWidth } from './hooks';
import type { DownloadProgress } from './model/download';
import { resolveModelOrRandom } from './model/fallback';
import { checkFinite, loadModel, type Gpt2Model } from './model/load';
import { RUN_FORMAT_VERSION, type EpochMetrics, type RunCfg, type TrainedMetrics } from './run/format';
import { runCfg, type TrainedCfg } from './run/runCfg';
import { checkRunTarget, writeRun } from './run/runDir';
import { PRESETS, resolveHook, saeShape, validateSaeConfig, type SaeConfig, type SaeShape } from './sae/config';
import { tiedSae } from './sae/model';
import { trainSae, validateTrainOptions, type EngineChoice } from './sae/train';
import { tokenize, type Token } from './tokenizer';

export type Phase = 'download' | 'tokenize' | 'extract' | 'train' | 'write';

export interface PipelineProgress {
  phase: Phase;
  /** One line saying what is happening. */
  message: string;
  /** Share of the phase done, in [0, 1], when known. */
  fraction?: number;
  /** Phase 'download': bytes of the current file. */
  download?: DownloadProgress;
  /** Phase 'train': the epoch just finished. */
  epoch?: { epoch: number; epochs: number; metrics: EpochMetrics; etaMs: number };
}

export interface PipelineOptions {
  /** The document to train on (with `source`), or… */
  text?: string;
  /** Where the text came from (a path, or e.g. "untitled:1 (selection)"). */
  source?: string;
  /** Offset of `text` inside the source (a selection); default 0. */
  offset?: number;
  /** …a safetensors file written by `latent-lens extract` (then no model is needed). */
  activations?: string;
  /** Model directory or hub name (e.g. "gpt2"); undefined downloads GPT-2 Small. */
  modelSpec?: string;
  /** The SAE to train, resolved by the caller (sae/config.ts saeConfig). */
  sae: SaeConfig;
  /** Run directory to write. */
  out: string;
  engine?: EngineChoice;
  /** Intra-op threads of extraction and training; undefined: onnxruntime's choice. */
  threads?: number;
  onProgress?: (p: PipelineProgress) => void;
  signal?: AbortSignal;
}

export interface PipelineResult {
  /** The run directory as given. */
  out: string;
  cfg: TrainedCfg;
  metrics: TrainedMetrics;
  nTokens: number;
  /** Extraction on ORT, absent when training on saved activations. */
  extract?: { provider: string; ms: number };
  /** Set when the default model could not be downloaded and a random-weight stand-in was used: show it. */
  notice?: string;
}

/** Checks everything that does not depend on the model, so bad flags fail before a download. */
function precheck(o: PipelineOptions): void {
  validateSaeConfig(o.sae);
  validateTrainOptions({ engine: o.engine, threads: o.threads });
  if ((o.text === undefined) === (o.activations === undefined)) throw new Error('runPipeline needs exactly one of text and activations');
  checkRunTarget(o.out);
}

/** The hook the config asks for must be the one the saved activations hold. */
function hookOfFile(file: { path: string; hook?: string; d: number }, c: SaeConfig): { name: string; layer: number } {
  if (!file.hook) throw new UserError(`${file.path} does not record which hook it holds (no "hook" metadata); write it with \`latent-lens extract FILE --out X.safetensors\`.`, 'E_ACTIVATIONS');
  const fileKind = hookKindOf(file.hook);
  const layer = Number(/^blocks\.(\d+)\./.exec(file.hook)?.[1]);
  if (!fileKind || !Number.isInteger(layer)) throw new UserError(`${file.path} records hook "${file.hook}", which is not a hook name Latent Lens knows; re-extract the activations.`, 'E_ACTIVATIONS');
  const wantKind = hookKindOf(c.hook);
  const dModel = fileKind === 'mlp.hook_pre' || fileKind === 'mlp.hook_post' ? file.d / 4 : file.d;
  const asked = c.hook === PRESETS[c.preset].hook ? `preset ${c.preset}` : `--hook ${c.hook}`;
  if (wantKind !== fileKind) {
    const want = wantKind ? ` (d_in ${hookWidth(wantKind, dModel)} for this model)` : '';
    throw new UserError(
      `${file.path} holds ${file.hook} activations (d_in ${file.d}), but ${asked} trains on ${wantKind ?? c.hook}${want}; pass --hook ${file.hook}${fileKind === 'mlp.hook_pre' ? ' or --preset course' : ''}, or extract the hook you want.`,
      'E_DIN',
    );
  }
  const wantLayer = c.layer ?? Number(/^blocks\.(\d+)\./.exec(c.hook)?.[1] ?? layer);
  if (wantLayer !== layer) throw new UserError(`${file.path} holds layer ${layer} (${file.hook}), but the settings ask for layer ${wantLayer}; drop --layer or extract that layer.`, 'E_DIN');
  return { name: file.hook, layer };
}

/** Activations ready to train on: one hook's rows for every token, and what the run records of their origin. */
export interface Prepared {
  hookName: string;
  shape: SaeShape;
  acts: Float32Array; // [T, dIn]
  tokens: Token[];
  model: RunCfg['model'];
  extract?: { provider: string; ms: number };
  notice?: string;
}

export interface OpenedModel {
  model: Gpt2Model;
  /** What cfg.json records of it. */
  info: RunCfg['model'];
  /** Set when the default model could not be downloaded and the random-weight stand-in is used. */
  fallback?: string;
}

/**
 * The GPT-2 of a run on text, with download progress: `modelSpec` resolved (the default GPT-2
 * falls back to a random-weight stand-in when the hub is unreachable), loaded and checked finite.
 */
export async function openTextModel(o: Pick<PipelineOptions, 'modelSpec' | 'signal' | 'onProgress'>): Promise<OpenedModel> {
  const progress = o.onProgress ?? (() => {});
  progress({ phase: 'download', message: `loading model ${o.modelSpec ?? 'gpt2'}` });
  const { dir, fallback } = await resolveModelOrRandom(o.modelSpec, {
    signal: o.signal,
    onProgress: (d) => progress({ phase: 'download', message: `downloading ${d.file}`, fraction: d.total ? d.done / d.total : undefined, download: d }),
  });
  if (fallback) progress({ phase: 'download', message: fallback });
  const model = loadModel(dir);
  checkFinite(model);
  return { model, info: { name: model.label, dir: path.resolve(model.dir), random_weights: model.randomWeights }, fallback };
}

async function fromText(o: PipelineOptions, text: string): Promise<Prepared> {
  const progress = o.onProgress ?? (() => {});
  const { model, info, fallback } = await openTextModel(o);
  const hook = resolveHook(o.sae, model.config);
  const shape = saeShape(o.sae, hook.width);
  throwIfAborted(o.signal, 'training run');

  progress({ phase: 'tokenize', message: `tokenizing ${o.source ?? 'the text'}` });
  const tokens = tokenize(text);
  progress({ phase: 'extract', message: `extracting ${hook.name} for ${tokens.length} tokens` });
  const ex = await extractActivations(tokens, model, [hook.name], { threads: o.threads, signal: o.signal });
  return { hookName: hook.name, shape, acts: ex.acts.get(hook.name)!, tokens, model: info, extract: { provider: ex.provider, ms: ex.ms }, notice: fallback };
}

function fromFile(file: string, c: SaeConfig): Prepared {
  const f = readActivationsFile(file);
  const hook = hookOfFile(f, c);
  return { hookName: hook.name, shape: saeShape(c, f.d), acts: f.acts, tokens: f.tokens, model: { name: f.model ?? 'unknown model', random_weights: f.randomWeights } };
}

/** What training prepared activations needs besides them: the SAE, where the run goes, and the text's origin for tokens.json. */
export type TrainPreparedOptions = Pick<PipelineOptions, 'sae' | 'out' | 'engine' | 'threads' | 'onProgress' | 'signal'> & { source: string; offset: number };

/** Trains the SAE on prepared activations and writes the run directory `o.out` atomically. */
export async function trainPrepared(prep: Prepared, o: TrainPreparedOptions): Promise<{ cfg: TrainedCfg; metrics: TrainedMetrics }> {
  const progress = o.onProgress ?? (() => {});
  const { shape, tokens } = prep;
  const T = tokens.length;
  progress({ phase: 'train', message: `training ${shape.nLatents} latents, k ${shape.k}, on ${T} tokens` });
  const result = await trainSae(prep.acts, T, shape.dIn, shape, o.sae, {
    engine: o.engine,
    threads: o.threads,
    signal: o.signal,
    onProgress: (epoch, epochs, metrics, etaMs) =>
      progress({ phase: 'train', message: `epoch ${epoch}/${epochs}`, fraction: epoch / epochs, epoch: { epoch, epochs, metrics, etaMs } }),
  });

  throwIfAborted(o.signal, 'training run');
  progress({ phase: 'write', message: `writing ${o.out}` });
  const sae = tiedSae(result.w, shape, { hookName: prep.hookName, modelName: prep.model.name });
  const cfg = runCfg(o.sae, sae, { model: prep.model, engine: result.metrics.engine, device: result.metrics.device, nTokens: T });
  writeRun(o.out, {
    cfg,
    sae,
    codes: result.codes,
    metrics: result.metrics,
    tokens: { version: RUN_FORMAT_VERSION, source: o.source, offset: o.offset, tokens: tokens.map(({ id, text, start, end }) => ({ id, text, start, end })) },
  });
  return { cfg, metrics: result.metrics };
}

async function run(o: PipelineOptions): Promise<PipelineResult> {
  precheck(o);
  const prep = o.text !== undefined ? await fromText(o, o.text) : fromFile(o.activations!, o.sae);
  const source = o.text !== undefined ? (o.source ?? 'text') : o.activations!;
  const { cfg, metrics } = await trainPrepared(prep, { ...o, source, offset: o.offset ?? 0 });
  return { out: o.out, cfg, metrics, nTokens: prep.tokens.length, extract: prep.extract, notice: prep.notice };
}

/**
 * The whole product in one call, used by the CLI, the editor's worker and the README's main command:
 * resolve the model (downloading it if needed), tokenize, extract the hook's activations, train the
 * SAE and write the run directory atomically (or train on saved activations). Settings are checked
 * before any work; aborting `signal` throws CancelledError and leaves no run directory behind.
 */
export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  try {
    return await run(o);
  } catch (e) {
    // Extraction aborts with the platform's AbortError; report every cancel the same way.
    if (o.signal?.aborted && !isCancelled(e)) throw new CancelledError('training run');
    throw e;
  }
}
