/**
 * What the worker does for each request: train on a document or a corpus (pipeline + analysis) or apply an SAE (apply + analysis), re-analyse a run with other
 * analysis settings, and read one latent's activations. Runs read from disk stay cached in the
 * process, as do the pipeline's model sessions.
 */
import * as fs from 'node:fs';
import type { AnalysisOptions } from '../core/analysis/analyze';
import { resolveConcept, type Concept } from '../core/analysis/lexicon';
import { writeRunAnalysis } from '../core/analysis/runAnalysis';
import type { AnalysisReport } from '../core/analysis/types';
import { throwIfAborted, UserError } from '../core/errors';
import { resolveModel } from '../core/model/download';
import { applySae, type ApplyProgress } from '../core/apply';
import { listCorpus } from '../core/corpus/list';
import { runPipeline, type PipelineProgress } from '../core/pipeline';
import { readRun, type RunContents } from '../core/run/runDir';
import { tokenize } from '../core/tokenizer';
import { checkTokenCount } from '../shared/inputCheck';
import type { ActivationsQuery, AnalysisSettings, ApplyJob, CorpusJob, JobSettings, LexiconChoice, ProgressEvent, ReanalyzeJob, RunView, TrainJob } from '../shared/protocol';

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

function progressEvent(jobId: string, p: PipelineProgress | ApplyProgress): ProgressEvent {
  return {
    jobId,
    phase: p.phase,
    message: p.message,
    ...('epoch' in p && p.epoch ? { epoch: p.epoch.epoch, epochs: p.epoch.epochs, loss: p.epoch.metrics.loss, etaMs: p.epoch.etaMs } : {}),
    bytesDone: p.download?.done,
    bytesTotal: p.download?.total || undefined,
    ...('corpus' in p && p.corpus ? { corpus: { files: p.corpus.files, totalFiles: p.corpus.totalFiles, tokens: p.corpus.tokens, totalTokens: p.corpus.totalTokens, path: p.corpus.path } } : {}),
  };
}

/**
 * What every run shares: the lexicon checked before any work (the caller checks its input first), the model
 * resolved here, not by the pipeline, so that a failed download is an error the editor shows with
 * its settings (instead of the pipeline's fallback to a random-weight stand-in); then `make` writes
 * the run directory, which is analysed and returned. A cancel after the run directory was written
 * leaves nothing behind either.
 */
async function runJob(job: { jobId: string; out: string; settings: JobSettings }, signal: AbortSignal, progress: (p: ProgressEvent) => void, make: (modelDir: string) => Promise<unknown>): Promise<RunView> {
  const { jobId, settings } = job;
  const concept = conceptOf(settings.analysis.lexicon);
  try {
    progress({ jobId, phase: 'download', message: settings.modelDir ? `loading the model from ${settings.modelDir}` : 'loading GPT-2 Small' });
    const modelDir = await resolveModel(settings.modelDir, {
      signal,
      onProgress: (d) => progress({ jobId, phase: 'download', message: `downloading ${d.file}`, bytesDone: d.done, bytesTotal: d.total || undefined }),
    });
    await make(modelDir);
    throwIfAborted(signal, 'run');
    progress({ jobId, phase: 'analyze', message: `analysing latents against the ${concept.lexicon.name} lexicon` });
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
  const { settings } = job;
  checkTokenCount(tokenize(job.text).length, settings.maxTokens, job.label);
  return runJob(job, signal, progress, (modelDir) =>
    runPipeline({
      text: job.text,
      source: job.source,
      offset: job.offset,
      modelSpec: modelDir,
      sae: settings.sae,
      out: job.out,
      engine: settings.engine,
      threads: settings.threads,
      signal,
      onProgress: (p) => progress(progressEvent(job.jobId, p)),
    }),
  );
}

/** Applies the job's SAE (downloading it when needed) instead of training one. */
export async function runApplyJob(job: ApplyJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<RunView> {
  checkTokenCount(tokenize(job.text).length, job.settings.maxTokens, job.label);
  return runJob(job, signal, progress, (modelDir) =>
    applySae({
      text: job.text,
      source: job.source,
      offset: job.offset,
      sae: job.sae,
      modelSpec: modelDir,
      out: job.out,
      threads: job.settings.threads,
      signal,
      onProgress: (p) => progress(progressEvent(job.jobId, p)),
    }),
  );
}

/**
 * Trains one SAE on a corpus: lists its files (empty folders and globs matching nothing fail here,
 * before any model work), then the pipeline reads them (skipping binary, oversized and empty files,
 * refusing a corpus over limits.maxTokens), extracts them file by file into shards (reused when the
 * same files were extracted before, e.g. by a cancelled run) and trains.
 */
export async function runCorpusJob(job: CorpusJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<RunView> {
  const corpus = listCorpus(job.inputs, { include: job.include, exclude: job.exclude, names: job.globNames });
  const { settings } = job;
  return runJob(job, signal, progress, (modelDir) =>
    runPipeline({
      corpus: { ...corpus, limits: job.limits },
      modelSpec: modelDir,
      sae: settings.sae,
      out: job.out,
      engine: settings.engine,
      threads: settings.threads,
      signal,
      onProgress: (p) => progress(progressEvent(job.jobId, p)),
    }),
  );
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
