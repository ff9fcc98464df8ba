/**
 * What the worker does for each request: train (pipeline + analysis) or apply an SAE (apply + analysis), scan the layers, re-analyse a run with other
 * analysis settings, and read one latent's activations. Runs read from disk stay cached in the
 * process, as do the pipeline's model sessions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalysisOptions } from '../core/analysis/analyze';
import { resolveConcept, type Concept } from '../core/analysis/lexicon';
import { writeRunAnalysis } from '../core/analysis/runAnalysis';
import type { AnalysisReport } from '../core/analysis/types';
import { throwIfAborted, UserError } from '../core/errors';
import { resolveModel } from '../core/model/download';
import { applySae, type ApplyProgress } from '../core/apply';
import { runPipeline, type PipelineProgress } from '../core/pipeline';
import { runScan, type ScanProgress } from '../core/scan/scan';
import { readRun, type RunContents } from '../core/run/runDir';
import { tokenize } from '../core/tokenizer';
import { checkTokenCount } from '../shared/inputCheck';
import type { ActivationsQuery, AnalysisSettings, ApplyJob, LexiconChoice, ProgressEvent, ReanalyzeJob, RunView, ScanJob, ScanView, TrainJob } from '../shared/protocol';

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

function progressEvent(jobId: string, p: PipelineProgress | ApplyProgress | ScanProgress): ProgressEvent {
  return {
    jobId,
    phase: p.phase,
    message: p.message,
    ...('epoch' in p && p.epoch ? { epoch: p.epoch.epoch, epochs: p.epoch.epochs, loss: p.epoch.metrics.loss, etaMs: p.epoch.etaMs } : {}),
    bytesDone: p.download?.done,
    bytesTotal: p.download?.total || undefined,
    ...('corpus' in p && p.corpus ? { corpus: { files: p.corpus.files, totalFiles: p.corpus.totalFiles, tokens: p.corpus.tokens, totalTokens: p.corpus.totalTokens } } : {}),
    ...('layer' in p && p.layer ? { layerScan: { ...p.layer, etaMs: p.etaMs } } : {}),
  };
}

/** The model directory of a job, resolved here (a failed download is an error the editor shows with its settings, not a random stand-in). */
function jobModel(job: TrainJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<string> {
  const { jobId, settings } = job;
  progress({ jobId, phase: 'download', message: settings.modelDir ? `loading the model from ${settings.modelDir}` : 'loading GPT-2 Small' });
  return resolveModel(settings.modelDir, {
    signal,
    onProgress: (d) => progress({ jobId, phase: 'download', message: `downloading ${d.file}`, bytesDone: d.done, bytesTotal: d.total || undefined }),
  });
}

/**
 * What training and applying share: the token cap and the lexicon checked before any work, the model
 * resolved here, not by the pipeline, so that a failed download is an error the editor shows with
 * its settings (instead of the pipeline's fallback to a random-weight stand-in); then `make` writes
 * the run directory, which is analysed and returned. A cancel after the run directory was written
 * leaves nothing behind either.
 */
async function runJob(job: TrainJob, signal: AbortSignal, progress: (p: ProgressEvent) => void, make: (modelDir: string) => Promise<unknown>): Promise<RunView> {
  const { jobId, settings } = job;
  checkTokenCount(tokenize(job.text).length, settings.maxTokens, job.label);
  const concept = conceptOf(settings.analysis.lexicon);
  try {
    await make(await jobModel(job, signal, progress));
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

export function runTrainJob(job: TrainJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<RunView> {
  const { settings } = job;
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
export function runApplyJob(job: ApplyJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<RunView> {
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
 * Scans the job's layers into its scan directory: each layer trained with the settings' SAE (its
 * layer set by the scan) or applied from a release, analysed and with causal evidence. A cancel keeps
 * the finished layers (the same job resumes them) and leaves nothing of the unfinished one.
 */
export async function runScanJob(job: ScanJob, signal: AbortSignal, progress: (p: ProgressEvent) => void): Promise<ScanView> {
  const { settings } = job;
  checkTokenCount(tokenize(job.text).length, settings.maxTokens, job.label);
  const concept = conceptOf(settings.analysis.lexicon);
  const r = await runScan({
    text: job.text,
    source: job.source,
    offset: job.offset,
    modelSpec: await jobModel(job, signal, progress),
    layers: job.layers,
    sae: job.release !== undefined ? { kind: 'release', release: job.release } : { kind: 'trained', config: { ...settings.sae, layer: null }, hookTemplate: job.hookTemplate, engine: settings.engine },
    analysis: analysisOptions(settings.analysis, concept),
    evidence: true,
    out: job.out,
    threads: settings.threads,
    signal,
    onProgress: (p) => progress(progressEvent(job.jobId, p)),
  });
  for (const row of r.scan.rows) runs.delete(path.resolve(job.out, row.dir));
  return { scanDir: job.out, scan: r.scan, made: r.made, reanalysed: r.reanalysed, kept: r.kept };
}

export function reanalyzeRun(job: ReanalyzeJob): AnalysisReport {
  const run = openRun(job.runDir);
  return writeRunAnalysis(run, analysisOptions(job.analysis, conceptOf(job.analysis.lexicon))).report;
}

/** The latent's activation on every token of the run ([T], 0 where it does not fire). */
export function latentActivations(q: ActivationsQuery): number[] {
  const { codes, cfg } = openRun(q.runDir);
  const n = cfg.sae.d_sae;
  if (!Number.isInteger(q.latent) || q.latent < 0 || q.latent >= n) {
    throw new UserError(`there is no latent ${q.latent}: this run has ${n} latents, numbered 0 to ${n - 1}.`, 'E_LATENT');
  }
  const out = new Array<number>(cfg.n_tokens).fill(0);
  for (let t = 0; t < cfg.n_tokens; t++) {
    for (let j = codes.rowPtr[t]; j < codes.rowPtr[t + 1]; j++) if (codes.index[j] === q.latent) out[t] = codes.value[j];
  }
  return out;
}
