import * as path from 'node:path';
import { readActivationsFile } from './activationsFile';
import { extractCorpus, type CorpusExtraction, type CorpusProgress, type ReadFile } from './corpus/extract';
import type { Corpus } from './corpus/list';
import { readCorpusFile, scanCorpus, type CorpusLimits, type CorpusScan } from './corpus/scan';
import { shardCacheDir, shardKey, ShardStore, type ShardSpec } from './corpus/shards';
import { textSha256 } from './corpus/text';
import { cancelledAs, throwIfAborted, UserError } from './errors';
import { hookKindOf, hookWidth, type Hook } from './hooks';
import type { DownloadProgress } from './model/download';
import { resolveModelOrRandom } from './model/fallback';
import { checkFinite, loadModel, type Gpt2Model } from './model/load';
import { releaseGpt2Sessions } from './model/sessions';
import { RUN_FORMAT_VERSION, type EpochMetrics, type RunCfg, type RunToken, type RunTokens, type SkippedFile, type TrainedMetrics } from './run/format';
import { runCfg, type TrainedCfg } from './run/runCfg';
import { checkRunTarget, writeRun } from './run/runDir';
import { PRESETS, resolveHook, saeShape, validateSaeConfig, type SaeConfig, type SaeShape } from './sae/config';
import { tiedSae } from './sae/model';
import { memoryRows, type RowSource } from './sae/rows';
import { trainRows, validateTrainOptions, type EngineChoice } from './sae/train';
import { countTokens, type Token } from './tokenizer';

export type Phase = 'scan' | 'download' | 'extract' | 'train' | 'write';

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
  /** Phases 'scan' (files read) and 'extract' (files and tokens): how far through the corpus. */
  corpus?: CorpusProgress;
}

export interface PipelineOptions {
  /** The document to train on (with `source`), or… */
  text?: string;
  /** Where the text came from (a path, or e.g. "untitled:1 (selection)"). */
  source?: string;
  /** Offset of `text` inside the source (a selection); default 0. */
  offset?: number;
  /** …a corpus of files (corpus/list.ts listCorpus, or the editor's pick), with its limits, or… */
  corpus?: Corpus & { limits: CorpusLimits };
  /** …a safetensors file written by `latent-lens extract` (then no model is needed). */
  activations?: string;
  /**
   * Where the activation shards of a text or corpus go (corpus/shards.ts); default: the model and
   * hook's folder under the cache root (shardCacheDir). They stay after a cancel or failure, for the
   * next run on the same files with the same model and hook to reuse, and are removed once the run
   * directory is written.
   */
  shardsDir?: string;
  /** Bytes of activations per shard (default corpus/shards.ts SHARD_BYTES); smaller shards resume at a finer grain. */
  shardBytes?: number;
  /** Activations up to this size are held in memory while training (TrainOptions.residentBytes). */
  residentBytes?: number;
  /** Release GPT-2's sessions once the activations are extracted (a one-job process, such as the CLI: they hold 0.5 GB while training and analysis need the memory). */
  releaseSessions?: boolean;
  /** Model directory or hub name (e.g. "gpt2"); undefined downloads GPT-2 Small. */
  modelSpec?: string;
  /** The SAE to train, resolved by the caller (sae/config.ts saeConfig). */
  sae: SaeConfig;
  /** Run directory to write. */
  out: string;
  engine?: EngineChoice;
  /** Threads of extraction and training; undefined: automatic (onnxruntime's choice for GPT-2, EngineOptions.threads for training). */
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
  /** Extraction on ORT, absent when training on saved activations; tokens extracted now and read from an earlier run's shards. */
  extract?: { provider: string; ms: number; extracted: number; reused: number };
  /** A corpus run: its files trained on and skipped. */
  corpus?: { root: string; files: number; skipped: SkippedFile[] };
  /** Set when the default model could not be downloaded and a random-weight stand-in was used: show it. */
  notice?: string;
}

/** Checks everything that does not depend on the model, so bad flags fail before a download. */
function precheck(o: PipelineOptions): void {
  validateSaeConfig(o.sae);
  validateTrainOptions({ engine: o.engine, threads: o.threads });
  if ([o.text, o.corpus, o.activations].filter((v) => v !== undefined).length !== 1) throw new Error('runPipeline needs exactly one of text, corpus and activations');
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
  rows: RowSource & { close?(): void };
  tokens: RunTokens;
  model: RunCfg['model'];
  extract?: PipelineResult['extract'];
  corpus?: PipelineResult['corpus'];
  notice?: string;
  /** The shards to remove once the run is written. */
  shards?: { store: ShardStore; specs: ShardSpec[] };
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

/**
 * The files to train on: a corpus as listed and scanned (scan.ts: text files only, within its
 * limits), or the one document, given as its text — a corpus of one file whose text cannot change.
 */
export function scanInput(o: Pick<PipelineOptions, 'text' | 'source' | 'corpus' | 'signal' | 'onProgress'>): { scan: CorpusScan; read: ReadFile } {
  if (o.corpus) {
    const c = o.corpus;
    const scan = scanCorpus(c.root, c.files, c.limits, { signal: o.signal, onFile: (done, total) => o.onProgress?.({ phase: 'scan', message: `reading ${c.root}`, fraction: done / total, corpus: { files: done, totalFiles: total, tokens: 0, totalTokens: 0, path: '' } }) });
    return { scan, read: (f) => readCorpusFile(f, c.limits.maxFileBytes) };
  }
  const text = o.text!;
  const source = o.source ?? 'text';
  const tokens = countTokens(text);
  const scan = { files: [{ path: source, abs: source, sha256: textSha256(text), tokens }], skipped: [], tokens };
  return { scan, read: () => ({ text }) };
}

/** tokens.json of a run on the text or corpus `o` names, from its extraction. */
export function runTokensOf(o: Pick<PipelineOptions, 'corpus' | 'source' | 'offset'>, ex: Pick<CorpusExtraction, 'tokens' | 'files'>, skipped: SkippedFile[]): RunTokens {
  const runTokens: RunToken[] = ex.tokens.map(({ id, text, start, end }: Token) => ({ id, text, start, end }));
  return o.corpus
    ? { version: RUN_FORMAT_VERSION, source: o.corpus.root, offset: 0, tokens: runTokens, files: ex.files, skipped }
    : { version: RUN_FORMAT_VERSION, source: o.source ?? 'text', offset: o.offset ?? 0, tokens: runTokens };
}

/** The shard store of `hook` in `model`: `dir`, or its folder under the cache root. */
export function hookShardStore(model: Gpt2Model, hook: Hook, dir?: string, bytes?: number): ShardStore {
  const key = shardKey(model, hook.name, hook.width, bytes);
  return new ShardStore(dir ?? shardCacheDir(key), key);
}

/** Progress of a corpus extraction as pipeline progress, naming `what` is extracted. */
export function extractProgress(what: string, progress: (p: PipelineProgress) => void): (c: CorpusProgress) => void {
  return (c) => progress({ phase: 'extract', message: `extracting ${what}: file ${Math.min(c.files + 1, c.totalFiles)}/${c.totalFiles}, ${c.tokens}/${c.totalTokens} tokens`, fraction: c.totalTokens ? c.tokens / c.totalTokens : undefined, corpus: c });
}

async function fromText(o: PipelineOptions): Promise<Prepared> {
  const progress = o.onProgress ?? (() => {});
  const { scan, read } = scanInput(o);
  const { model, info, fallback } = await openTextModel(o);
  const hook = resolveHook(o.sae, model.config);
  const shape = saeShape(o.sae, hook.width);
  throwIfAborted(o.signal, 'training run');
  const store = hookShardStore(model, hook, o.shardsDir, o.shardBytes);
  const what = o.corpus ? `${scan.files.length} files` : (o.source ?? 'the text');
  progress({ phase: 'extract', message: `extracting ${hook.name} of ${what} (${scan.tokens} tokens)` });
  const ex: CorpusExtraction = await extractCorpus(scan, read, model, [{ hook, store }], { threads: o.threads, signal: o.signal, onProgress: extractProgress(hook.name, progress) });
  if (o.releaseSessions) await releaseGpt2Sessions();
  const skipped = [...scan.skipped, ...ex.skipped];
  return {
    hookName: hook.name,
    shape,
    rows: ex.hooks[0].rows,
    tokens: runTokensOf(o, ex, skipped),
    model: info,
    extract: { provider: ex.provider ?? 'none (every activation was in the shards of an earlier run)', ms: ex.ms, extracted: ex.extracted, reused: ex.reused },
    corpus: o.corpus && { root: o.corpus.root, files: ex.files.length, skipped },
    notice: fallback,
    shards: { store, specs: ex.hooks[0].shards },
  };
}

function fromFile(file: string, c: SaeConfig): Prepared {
  const f = readActivationsFile(file);
  const hook = hookOfFile(f, c);
  return {
    hookName: hook.name,
    shape: saeShape(c, f.d),
    rows: memoryRows(f.acts, f.T, f.d),
    tokens: { version: RUN_FORMAT_VERSION, source: file, offset: 0, tokens: f.tokens.map(({ id, text, start, end }) => ({ id, text, start, end })) },
    model: { name: f.model ?? 'unknown model', random_weights: f.randomWeights },
  };
}

/** What training prepared activations needs besides them: the SAE and where the run goes. */
export type TrainPreparedOptions = Pick<PipelineOptions, 'sae' | 'out' | 'engine' | 'threads' | 'residentBytes' | 'onProgress' | 'signal'>;

/** Trains the SAE on prepared activations (closing their rows after) and writes the run directory `o.out` atomically. */
export async function trainPrepared(prep: Prepared, o: TrainPreparedOptions): Promise<{ cfg: TrainedCfg; metrics: TrainedMetrics }> {
  const progress = o.onProgress ?? (() => {});
  const { shape } = prep;
  const T = prep.rows.T;
  try {
    progress({ phase: 'train', message: `training ${shape.nLatents} latents, k ${shape.k}, on ${T} tokens` });
    const result = await trainRows(prep.rows, shape, o.sae, {
      engine: o.engine,
      threads: o.threads,
      residentBytes: o.residentBytes,
      signal: o.signal,
      onProgress: (epoch, epochs, metrics, etaMs) =>
        progress({ phase: 'train', message: `epoch ${epoch}/${epochs}`, fraction: epoch / epochs, epoch: { epoch, epochs, metrics, etaMs } }),
    });
    throwIfAborted(o.signal, 'training run');
    progress({ phase: 'write', message: `writing ${o.out}` });
    const sae = tiedSae(result.w, shape, { hookName: prep.hookName, modelName: prep.model.name });
    const cfg = runCfg(o.sae, sae, { model: prep.model, engine: result.metrics.engine, device: result.metrics.device, nTokens: T });
    writeRun(o.out, { cfg, sae, codes: result.codes, metrics: result.metrics, tokens: prep.tokens });
    return { cfg, metrics: result.metrics };
  } finally {
    prep.rows.close?.();
  }
}

async function run(o: PipelineOptions): Promise<PipelineResult> {
  precheck(o);
  const prep = o.activations !== undefined ? fromFile(o.activations, o.sae) : await fromText(o);
  const written = await trainPrepared(prep, o);
  prep.shards?.store.remove(prep.shards.specs);
  return { out: o.out, ...written, nTokens: prep.rows.T, extract: prep.extract, corpus: prep.corpus, notice: prep.notice };
}

/**
 * The whole product in one call, used by the CLI, the editor's worker and the README's main command:
 * read the corpus (or take the one document), resolve the model (downloading it if needed), extract
 * the hook's activations file by file into shards, train the SAE streaming from them and write the
 * run directory atomically (or train on saved activations). Settings are checked before any work;
 * aborting `signal` throws CancelledError and leaves no run directory behind, only the shards
 * written so far, which the same command run again reuses.
 */
export function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  return cancelledAs(o.signal, 'training run', () => run(o));
}
