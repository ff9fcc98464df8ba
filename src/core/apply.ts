import * as path from 'node:path';
import { cancelledAs, isUserError, throwIfAborted, UserError } from './errors';
import { parseHook, type Hook } from './hooks';
import { resolveModel, type DownloadProgress, type ResolveOptions } from './model/download';
import { checkFinite, loadModel, type Gpt2Model } from './model/load';
import { textSha256 } from './corpus/text';
import { corpusFileOf, readRunFiles } from './run/corpusFiles';
import { RUN_FORMAT_VERSION, type RunCfg, type RunMetrics } from './run/format';
import { appliedCfg } from './run/runCfg';
import { checkRunTarget, writeRun } from './run/runDir';
import { encodeSae } from './sae/encode';
import { saeInput } from './sae/input';
import { codeStats, fve, totalVariance } from './sae/metrics';
import { firstNonFinite } from './sae/model';
import { resolveSae, type ResolvedSae, type SaeRequest } from './sae/source';
import { tokenize, type Token } from './tokenizer';

export type ApplyPhase = 'download' | 'tokenize' | 'extract' | 'encode' | 'write';

export interface ApplyProgress {
  phase: ApplyPhase;
  message: string;
  fraction?: number;
  download?: DownloadProgress;
}

export interface ApplyOptions {
  text: string;
  /** Where the text came from (a path, or e.g. "untitled:1 (selection)"). */
  source: string;
  /** Offset of `text` inside the source (a selection); default 0. */
  offset?: number;
  sae: SaeRequest;
  /** Model directory or hub name; undefined downloads GPT-2 Small. No random stand-in: an SAE of GPT-2 needs GPT-2. */
  modelSpec?: string;
  out: string;
  threads?: number;
  /** Hub endpoint and cache root for the SAE and model downloads (defaults: the environment's). */
  hub?: Pick<ResolveOptions, 'cacheDir' | 'endpoint'>;
  onProgress?: (p: ApplyProgress) => void;
  signal?: AbortSignal;
}

export interface ApplyResult {
  out: string;
  cfg: RunCfg;
  metrics: RunMetrics;
  nTokens: number;
  /** What the SAE's files left to assumption, and where a release's cfg.json disagreed with the registry. */
  notes: string[];
  extract: { provider: string; ms: number };
}

/** A note when the SAE is a corpus run's and the text one of its files: its numbers are in-sample. */
function inSampleNote(sae: ResolvedSae, text: string, source: string): string[] {
  if (sae.format !== 'latent-lens') return [];
  const files = readRunFiles(sae.dir);
  const file = files && corpusFileOf({ files }, textSha256(text));
  if (!file) return [];
  return [`${source} is ${file.path} of the ${files.length}-file corpus this SAE was trained on (tokens ${file.first}–${file.first + file.tokens - 1} of its run): FVE and L0 here are in-sample.`];
}

/** The SAE's hook in this model; it must exist and have the SAE's width. */
export function siteHook(sae: ResolvedSae, model: Gpt2Model): Hook {
  const { dIn, site } = sae.model;
  let hook: Hook;
  try {
    hook = parseHook(site.hookName, model.config);
  } catch (e) {
    if (isUserError(e) && e.code === 'E_HOOK') throw new UserError(`the SAE reads ${site.hookName}, which Latent Lens cannot extract from ${model.label}: ${e.message}`, 'E_HOOK');
    throw e;
  }
  if (hook.width !== dIn) {
    throw new UserError(
      `the SAE reads ${site.hookName} with d_in ${dIn}, but ${site.hookName} of ${model.label} has width ${hook.width}: the SAE belongs to another model (its cfg.json says model_name "${site.modelName}"). Use --model with that model, or an SAE of this one.`,
      'E_DIN',
    );
  }
  return hook;
}

/** What encoding prepared activations needs besides them: where the run goes and the text's origin for tokens.json. */
export type EncodePreparedOptions = Pick<ApplyOptions, 'source' | 'offset' | 'out' | 'threads' | 'onProgress' | 'signal'>;

/**
 * Encodes the SAE's view x [T, d_in] of `hook` (saeInput) for `tokens` and writes the run directory
 * `o.out` atomically, its metrics those of this SAE on this text.
 */
export async function encodePrepared(sae: ResolvedSae, hook: Hook, x: Float32Array, tokens: Token[], model: RunCfg['model'], o: EncodePreparedOptions): Promise<{ cfg: RunCfg; metrics: RunMetrics }> {
  const progress = o.onProgress ?? (() => {});
  const T = tokens.length;
  const bad = firstNonFinite(x);
  if (bad) throw new UserError(`the activations of token ${Math.floor(bad.index / sae.model.dIn)} contain ${bad.value}; check the model's weights.`, 'E_NONFINITE');
  const sst = totalVariance(x, T, sae.model.dIn);
  if (sst === 0) throw new UserError(`all ${T} tokens have identical activations at ${hook.name}, so FVE is undefined; give a text with varied tokens.`, 'E_TOKENS');

  throwIfAborted(o.signal, 'applying the SAE');
  progress({ phase: 'encode', message: `encoding ${T} tokens with ${sae.model.dSae} latents` });
  const t0 = performance.now();
  const enc = await encodeSae(sae.model, x, T, { threads: o.threads, signal: o.signal });
  const stats = codeStats(enc.codes, sae.model.dSae);
  const metrics: RunMetrics = {
    version: RUN_FORMAT_VERSION,
    curve: [],
    final: {
      mse: enc.sse / (T * sae.model.dIn),
      l1: stats.absSum / (T * sae.model.dSae),
      fve: fve(enc.sse, sst),
      l0: stats.l0,
      dead_fraction: stats.deadFraction,
      layer_density: 100 * (1 - stats.deadFraction),
    },
    total_ms: performance.now() - t0,
    engine: 'ort',
    device: enc.device,
  };

  throwIfAborted(o.signal, 'applying the SAE');
  progress({ phase: 'write', message: `writing ${o.out}` });
  const cfg = appliedCfg(sae.model, sae.source, { model, nTokens: T });
  writeRun(o.out, {
    cfg,
    sae: sae.model,
    codes: enc.codes,
    metrics,
    tokens: { version: RUN_FORMAT_VERSION, source: o.source, offset: o.offset ?? 0, tokens: tokens.map(({ id, text, start, end }) => ({ id, text, start, end })) },
  });
  return { cfg, metrics };
}

/** Applying an SAE needs at least 2 tokens (FVE compares tokens). */
export function checkApplyTokens(T: number): void {
  if (T < 2) throw new UserError(`applying an SAE needs at least 2 tokens (FVE compares tokens), got ${T}; give a longer text.`, 'E_TOKENS');
}

async function run(o: ApplyOptions): Promise<ApplyResult> {
  checkRunTarget(o.out);
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1)) throw new UserError(`threads must be a positive integer, got ${o.threads}.`, 'E_USAGE');
  const progress = o.onProgress ?? (() => {});
  const hub: ResolveOptions = {
    ...o.hub,
    signal: o.signal,
    onProgress: (d) => progress({ phase: 'download', message: `downloading ${d.file}`, fraction: d.total ? d.done / d.total : undefined, download: d }),
  };
  progress({ phase: 'download', message: `loading the SAE ${o.sae.spec}` });
  const sae = await resolveSae(o.sae, hub);
  progress({ phase: 'download', message: `loading model ${o.modelSpec ?? 'gpt2'}` });
  const model = loadModel(await resolveModel(o.modelSpec, hub));
  checkFinite(model);
  const hook = siteHook(sae, model);
  progress({ phase: 'tokenize', message: `tokenizing ${o.source}` });
  const tokens = tokenize(o.text);
  checkApplyTokens(tokens.length);
  progress({ phase: 'extract', message: `extracting ${hook.name} for ${tokens.length} tokens${sae.model.site.prependBos ? ', BOS before each window' : ''}` });
  const inputs = await saeInput(tokens, model, hook, sae.model.site, { threads: o.threads, signal: o.signal });
  const info = { name: model.label, dir: path.resolve(model.dir), random_weights: model.randomWeights };
  const { cfg, metrics } = await encodePrepared(sae, hook, inputs.acts, tokens, info, o);
  return { out: o.out, cfg, metrics, nTokens: tokens.length, notes: [...sae.notes, ...inSampleNote(sae, o.text, o.source)], extract: { provider: inputs.provider, ms: inputs.ms } };
}

/**
 * Applies an SAE of the field (or of another run) to a document without training: resolves and
 * loads the SAE (downloading it when needed), resolves the model, extracts what the SAE expects
 * (its hook, BOS per window, centring), encodes every token and writes a run directory whose
 * metrics are FVE, L0 and MSE of this SAE on this document. Aborting `signal` throws CancelledError
 * and leaves no run directory.
 */
export function applySae(o: ApplyOptions): Promise<ApplyResult> {
  return cancelledAs(o.signal, 'applying the SAE', () => run(o));
}
