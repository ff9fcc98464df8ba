/**
 * What the worker does for each request: train on a document or a corpus (pipeline + analysis) or apply an SAE (apply +
 * analysis), the causal evidence of a run (its lists' top latents, or one latent on demand), seed
 * stability, a layer scan (one run per layer), re-analysing a run with other analysis settings, and reading one latent's activations.
 * Runs read from disk stay cached in the process, as do the pipeline's model sessions. Progress
 * lines are written for editor users: no paths of the extension's storage, no CLI flags.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalysisOptions } from '../core/analysis/analyze';
import { resolveConcept, type Concept } from '../core/analysis/lexicon';
import { readReport, writeFileAtomic } from '../core/analysis/reportFile';
import { analyzeRun, writeRunAnalysis, writeRunEvidence } from '../core/analysis/runAnalysis';
import { seedStability, STABILITY_FILE, type StabilityReport, type StabilityRun } from '../core/analysis/stability';
import { ANALYSIS_FILE, type AnalysisReport } from '../core/analysis/types';
import { isUserError, throwIfAborted, UserError } from '../core/errors';
import { applySae, type ApplyProgress } from '../core/apply';
import { listCorpus } from '../core/corpus/list';
import { openRunModel, runEvidence, selectionFromReport } from '../core/evidence/runEvidence';
import type { LatentEvidence } from '../core/evidence/types';
import { extractActivations } from '../core/extract';
import { DEFAULT_REPO, MODEL_FILES, modelCacheDir, resolveModel } from '../core/model/download';
import { randomStandIn } from '../core/model/fallback';
import { runPipeline, type PipelineOptions, type PipelineProgress } from '../core/pipeline';
import { runScan, type ScanProgress } from '../core/scan/scan';
import { saeConfigOf } from '../core/run/runCfg';
import { readRun, type RunContents } from '../core/run/runDir';
import { saeShape } from '../core/sae/config';
import { trainSae } from '../core/sae/train';
import { tokenize } from '../core/tokenizer';
import { Eta } from '../shared/eta';
import { checkTokenCount } from '../shared/inputCheck';
import type {
  ActivationsQuery,
  AnalysisSettings,
  ApplyJob,
  CorpusJob,
  EvidenceJob,
  JobSettings,
  LatentEvidenceJob,
  LexiconChoice,
  Phase,
  ProgressEvent,
  ProgressUnit,
  ReanalyzeJob,
  RunView,
  ScanJob,
  ScanView,
  StabilityJob,
  TrainJob,
} from '../shared/protocol';

const CACHED_RUNS = 4;
const runs = new Map<string, RunContents>(); // by run directory, least recently used first

function openRun(dir: string): RunContents {
  const hit = runs.get(dir);
  if (hit) {
    runs.delete(dir);
    runs.set(dir, hit);
    return hit;
  }
  const run = readRun(dir);
  runs.set(dir, run);
  if (runs.size > CACHED_RUNS) runs.delete(runs.keys().next().value!);
  return run;
}

function conceptOf(lexicon: LexiconChoice): Concept {
  return resolveConcept(undefined, lexicon.kind === 'file' ? lexicon.path : lexicon.kind);
}

function analysisOptions(a: AnalysisSettings, concept: Concept): AnalysisOptions {
  return { concept, punctuationThreshold: a.punctuationShare, proxyThreshold: a.proxyShare };
}

/** Sends a job's progress: counted phases get an ETA from their own pace (eta.ts), restarted at each phase. */
export function progressReporter(jobId: string, send: (p: ProgressEvent) => void) {
  let phase: Phase | undefined;
  let eta = new Eta();
  return (p: Phase, message: string, count?: { done: number; total: number; unit: ProgressUnit; loss?: number }) => {
    if (p !== phase) {
      phase = p;
      eta = new Eta();
    }
    if (!count) return send({ jobId, phase: p, message });
    send({ jobId, phase: p, message, ...count, etaMs: eta.next(count.done, count.total) });
  };
}

type Say = ReturnType<typeof progressReporter>;

/** The model directory of a run, and its name for progress lines. */
async function modelFor(settings: JobSettings, signal: AbortSignal, say: Say): Promise<{ dir: string; name: string }> {
  if (settings.modelDir !== undefined) return { dir: await resolveModel(settings.modelDir, { signal }), name: `the model in ${path.basename(settings.modelDir)}` };
  const cached = process.env.LATENT_LENS_MODEL_DIR || MODEL_FILES.every((f) => fs.existsSync(path.join(modelCacheDir(DEFAULT_REPO), f)));
  if (!cached) say('download', 'downloading GPT-2 Small (once, into the model cache)');
  try {
    const dir = await resolveModel(undefined, {
      signal,
      onProgress: (d) => say('download', `downloading GPT-2 Small: ${d.file}`, { done: d.done, total: d.total, unit: 'byte' }),
    });
    return { dir, name: 'GPT-2 Small' };
  } catch (e) {
    if (!settings.standIn || !isUserError(e) || e.code !== 'E_OFFLINE') throw e;
    say('standIn', 'preparing the random-weights stand-in (GPT-2 Small is unreachable)');
    return { dir: randomStandIn().dir, name: 'the random-weights stand-in' };
  }
}

/** The pipeline's progress in the editor's words. */
function pipelineProgress(say: Say, modelName: string): (p: PipelineProgress) => void {
  let training = 'training';
  return (p) => {
    switch (p.phase) {
      case 'download': // the model is resolved already: the pipeline only loads it
        return say('load', `loading ${modelName}`);
      case 'scan':
        return say('scan', 'reading the files', p.corpus && { done: p.corpus.files, total: p.corpus.totalFiles, unit: 'file' });
      case 'extract':
        if (!p.corpus) return say('extract', extracting(p.message));
        // A corpus: which file of how many, in the message; the count is in tokens, over all files.
        return say('extract', `${extracting(p.message)}${p.corpus.path && p.corpus.totalFiles > 1 ? `: file ${p.corpus.files + 1} of ${p.corpus.totalFiles} (${p.corpus.path})` : ''}`, { done: p.corpus.tokens, total: p.corpus.totalTokens, unit: 'token' });
      case 'train':
        if (!p.epoch) return say('train', (training = p.message));
        return say('train', training, { done: p.epoch.epoch, total: p.epoch.epochs, unit: 'epoch', loss: p.epoch.metrics.loss });
      case 'write':
        return say('write', 'saving the run');
    }
  };
}

/** "extracting blocks.6.hook_mlp_out activations": the pipeline's or apply's message without its counts. */
const extracting = (message: string) => message.replace(/^extracting (\S+?):? .*$/, 'extracting $1 activations');

/** Applying an SAE, in the editor's words. */
function applyProgress(say: Say, modelName: string): (p: ApplyProgress) => void {
  return (p) => {
    switch (p.phase) {
      case 'download':
        if (p.download) return say('download', `downloading ${p.download.file}`, { done: p.download.done, total: p.download.total, unit: 'byte' });
        return say('load', p.message.startsWith('loading model') ? `loading ${modelName}` : p.message);
      case 'tokenize':
        return say('tokenize', 'tokenizing');
      case 'extract':
        return say('extract', extracting(p.message));
      case 'encode':
        return say('encode', p.message);
      case 'write':
        return say('write', 'saving the run');
    }
  };
}

/**
 * What every run shares: the lexicon checked before any download or work (the caller checks its
 * input first: a document's token cap, a corpus's listing); the model resolved here, not by the pipeline, so that a failed download is an error the
 * editor shows with its choices (instead of the pipeline's silent fallback to the random-weights
 * stand-in); then `make` writes the run directory, which is analysed and returned. A cancel after
 * the run directory was written leaves nothing behind either.
 */
async function runJob(
  job: { jobId: string; out: string; settings: JobSettings },
  signal: AbortSignal,
  progress: (p: ProgressEvent) => void,
  make: (model: { dir: string; name: string }, say: Say) => Promise<unknown>,
): Promise<RunView> {
  const { settings } = job;
  const concept = conceptOf(settings.analysis.lexicon);
  const say = progressReporter(job.jobId, progress);
  try {
    await make(await modelFor(settings, signal, say), say);
    throwIfAborted(signal, 'run');
    say('analyze', `analysing the latents against the ${concept.lexicon.name} lexicon`);
    const run = openRun(job.out);
    const { report: analysis } = writeRunAnalysis(run, analysisOptions(settings.analysis, concept));
    return { runDir: job.out, tokens: run.tokens, cfg: run.cfg, metrics: run.metrics, analysis };
  } catch (e) {
    if (signal.aborted) {
      runs.delete(job.out);
      fs.rmSync(job.out, { recursive: true, force: true });
    }
    throw e;
  }
}

export async function runTrainJob(job: TrainJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<RunView> {
  checkTokenCount(tokenize(job.text).length, job.settings.maxTokens, job.label);
  return trainOn({ text: job.text, source: job.source, offset: job.offset }, job, signal, progress);
}

/** Trains the job's SAE on a document or a corpus through the pipeline (runJob: model, analysis, cancel). */
function trainOn(input: Pick<PipelineOptions, 'text' | 'source' | 'offset' | 'corpus'>, job: { jobId: string; out: string; settings: JobSettings }, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<RunView> {
  const { settings } = job;
  return runJob(job, signal, progress, (model, say) =>
    runPipeline({
      ...input,
      modelSpec: model.dir,
      sae: settings.sae,
      out: job.out,
      engine: settings.engine,
      threads: settings.threads,
      signal,
      onProgress: pipelineProgress(say, model.name),
    }),
  );
}

/** Applies the job's SAE (downloading it when needed) instead of training one. */
export async function runApplyJob(job: ApplyJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<RunView> {
  checkTokenCount(tokenize(job.text).length, job.settings.maxTokens, job.label);
  return runJob(job, signal, progress, (model, say) =>
    applySae({
      text: job.text,
      source: job.source,
      offset: job.offset,
      sae: job.sae,
      modelSpec: model.dir,
      out: job.out,
      threads: job.settings.threads,
      signal,
      onProgress: applyProgress(say, model.name),
    }),
  );
}

/**
 * A scan's progress in the editor's words: each layer's phases as a run's (pipelineProgress,
 * applyProgress), with the layer worked on, its place and the scan's time left (ScanProgress).
 */
function scanProgress(jobId: string, send: (p: ProgressEvent) => void, modelName: string): (p: ScanProgress) => void {
  let layer: ProgressEvent['layerScan'];
  const say = progressReporter(jobId, (e) => send(layer ? { ...e, layerScan: layer } : e));
  const pipeline = pipelineProgress(say, modelName);
  const apply = applyProgress(say, modelName);
  return (p) => {
    layer = p.layer && { ...p.layer, etaMs: p.etaMs };
    switch (p.phase) {
      case 'download':
      case 'tokenize':
      case 'encode':
        return apply(p as ApplyProgress);
      case 'extract':
        return say('extract', "extracting every layer's activations (one pass for all)", p.corpus && { done: p.corpus.tokens, total: p.corpus.totalTokens, unit: 'token' });
      case 'analyze':
        return say('analyze', 'analysing the latents');
      case 'evidence':
        return say('evidence', 'computing causal evidence');
      default:
        return pipeline(p as PipelineProgress);
    }
  };
}

/**
 * Scans the job's layers into its scan directory: each layer trained with the settings' SAE (its
 * layer set by the scan) or applied from a release, analysed and with causal evidence. A cancel keeps
 * the finished layers (the same job resumes them) and leaves nothing of the unfinished one.
 */
export async function runScanJob(job: ScanJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<ScanView> {
  const { settings } = job;
  checkTokenCount(tokenize(job.text).length, settings.maxTokens, job.label);
  const concept = conceptOf(settings.analysis.lexicon);
  const model = await modelFor(settings, signal, progressReporter(job.jobId, progress));
  const r = await runScan({
    text: job.text,
    source: job.source,
    offset: job.offset,
    modelSpec: model.dir,
    layers: job.layers,
    sae: job.release !== undefined ? { kind: 'release', release: job.release } : { kind: 'trained', config: { ...settings.sae, layer: null }, hookTemplate: job.hookTemplate, engine: settings.engine },
    analysis: analysisOptions(settings.analysis, concept),
    evidence: true,
    out: job.out,
    threads: settings.threads,
    signal,
    onProgress: scanProgress(job.jobId, progress, model.name),
  });
  for (const row of r.scan.rows) runs.delete(path.resolve(job.out, row.dir));
  return { scanDir: job.out, scan: r.scan, made: r.made, reanalysed: r.reanalysed, kept: r.kept };
}

/**
 * Trains one SAE on a corpus: lists its files (empty folders and globs matching nothing fail here,
 * before any model work), then the pipeline reads them (skipping binary, oversized and empty files,
 * refusing a corpus over limits.maxTokens), extracts them file by file into shards (reused when the
 * same files were extracted before, e.g. by a cancelled run) and trains.
 */
export async function runCorpusJob(job: CorpusJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<RunView> {
  const corpus = listCorpus(job.inputs, { include: job.include, exclude: job.exclude, names: job.globNames });
  return trainOn({ corpus: { ...corpus, limits: job.limits } }, job, signal, progress);
}

/** Progress of a forward-pass count (evidence), in the evidence's phase. */
const forwards = (say: Say, message: string) => (done: number, total: number) => say('evidence', message, { done, total, unit: 'forward' });

/** Adds the causal evidence of the run's current lists to its analysis.json (or why it has none) and returns that analysis. */
export async function runEvidenceJob(job: EvidenceJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<AnalysisReport> {
  const run = openRun(job.runDir);
  const report = readReport(path.join(job.runDir, ANALYSIS_FILE));
  const say = progressReporter(job.jobId, progress);
  say('evidence', 'loading the model the run was trained with');
  const written = await writeRunEvidence(run, report, { threads: job.threads, signal, onProgress: forwards(say, 'computing causal evidence') });
  return written.report;
}

/** One latent's causal evidence (ablation and logit effects), for a latent the run's evidence does not cover. */
export async function runLatentEvidenceJob(job: LatentEvidenceJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<LatentEvidence> {
  const run = openRun(job.runDir);
  const report = readReport(path.join(job.runDir, ANALYSIS_FILE));
  const say = progressReporter(job.jobId, progress);
  say('evidence', `loading the model the run was trained with`);
  const evidence = await runEvidence(run, { ...selectionFromReport(report), latents: [job.latent], threads: job.threads, signal, onProgress: forwards(say, `ablating #${job.latent}`) });
  return evidence.latents[0];
}

/**
 * Seed stability of a run (core/analysis/stability.ts): the run's own SAE is seed 0's; `seeds − 1`
 * more are trained like it, with the next seeds, on the same activations (extracted again from the
 * model that made the run) and analysed with the same settings. Written to the run's stability.json.
 */
export async function runStabilityJob(job: StabilityJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<StabilityReport> {
  if (!(Number.isInteger(job.seeds) && job.seeds >= 2 && job.seeds <= 100)) throw new UserError(`seed stability needs 2 to 100 seeds, got ${job.seeds}.`, 'E_USAGE');
  const run = openRun(job.runDir);
  const say = progressReporter(job.jobId, progress);
  say('stability', 'loading the model the run was trained with');
  const { cfg } = run;
  if (!cfg.train) throw new UserError('Check stability trains more seeds like the run: this run applied an SAE instead of training one.', 'E_USAGE');
  const model = openRunModel(run);
  const hook = cfg.sae.hook_name;
  const ex = await extractActivations([...run.tokens.tokens], model, [hook], { threads: job.threads, signal });
  const acts = ex.acts.get(hook)!;
  const sae = saeConfigOf({ ...cfg, train: cfg.train });
  const shape = saeShape(sae, cfg.sae.d_in);
  const options = analysisOptions(job.analysis, conceptOf(job.analysis.lexicon));
  const trained: StabilityRun[] = [{ seed: sae.seed, w: run.sae.wEnc, report: readReport(path.join(job.runDir, ANALYSIS_FILE)), dir: job.runDir }];
  const more = job.seeds - 1;
  for (let i = 1; i <= more; i++) {
    const seed = sae.seed + i;
    const message = `training seed ${seed} (${i} of ${more} more)`;
    // Counted in seeds: a seed's schedule may end early (early stopping), so its epochs are not known ahead.
    say('stability', message, { done: i - 1, total: more, unit: 'seed' });
    const r = await trainSae(acts, cfg.n_tokens, shape.dIn, shape, { ...sae, seed }, {
      engine: job.engine,
      threads: job.threads,
      signal,
      onProgress: (epoch, epochs) => say('stability', message, { done: i - 1 + epoch / epochs, total: more, unit: 'seed' }),
    });
    throwIfAborted(signal, 'stability check');
    trained.push({ seed, w: r.w, report: analyzeRun({ ...run, codes: r.codes }, options) });
  }
  const report = seedStability(trained, shape.dIn, shape.nLatents);
  writeFileAtomic(path.join(job.runDir, STABILITY_FILE), `${JSON.stringify(report, null, 1)}\n`);
  return report;
}

export function reanalyzeRun(job: ReanalyzeJob): AnalysisReport {
  const run = openRun(job.runDir);
  return writeRunAnalysis(run, analysisOptions(job.analysis, conceptOf(job.analysis.lexicon))).report;
}

/** The latent's activation on every token of the run ([T]) or of the query's range ([range.tokens]); 0 where it does not fire. */
export function latentActivations(q: ActivationsQuery): number[] {
  const { codes, cfg } = openRun(q.runDir);
  const n = cfg.sae.d_sae;
  if (!Number.isInteger(q.latent) || q.latent < 0 || q.latent >= n) {
    throw new UserError(`there is no latent ${q.latent}: this run has ${n} latents, numbered 0 to ${n - 1}.`, 'E_LATENT');
  }
  const { first, tokens } = q.range ?? { first: 0, tokens: cfg.n_tokens };
  if (!(Number.isInteger(first) && Number.isInteger(tokens) && first >= 0 && tokens >= 0 && first + tokens <= cfg.n_tokens)) {
    throw new UserError(`tokens ${first}–${first + tokens - 1} are not tokens of this run (it has ${cfg.n_tokens}); its tokens.json may have been replaced: train again.`, 'E_RUN');
  }
  const out = new Array<number>(tokens).fill(0);
  for (let t = 0; t < tokens; t++) {
    for (let j = codes.rowPtr[first + t]; j < codes.rowPtr[first + t + 1]; j++) if (codes.index[j] === q.latent) out[t] = codes.value[j];
  }
  return out;
}
