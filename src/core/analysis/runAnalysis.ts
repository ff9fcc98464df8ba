import * as path from 'node:path';
import { isCancelled, isUserError } from '../errors';
import { runEvidence, selectionFromReport, type RunEvidenceOptions } from '../evidence/runEvidence';
import { RUN_FILES, type RunContents } from '../run/runDir';
import { analyzeCodes, type AnalysisOptions } from './analyze';
import { renderReportHtml } from './htmlReport';
import { writeFileAtomic, writeReport } from './reportFile';
import { ANALYSIS_FILE, REPORT_HTML_FILE, type AnalysisReport } from './types';

/** The analysis of a run read with readRun (cfg.json, tokens.json, latents.safetensors). */
export function analyzeRun(run: RunContents, options: AnalysisOptions = {}): AnalysisReport {
  const { cfg, tokens } = run;
  return analyzeCodes(
    {
      tokens: tokens.tokens,
      codes: run.codes,
      nLatents: cfg.sae.d_sae,
      run: { source: tokens.source, model: cfg.model.name, hookName: cfg.sae.hook_name, k: cfg.sae.k, preset: cfg.train?.preset, seed: cfg.train?.seed, randomWeights: cfg.model.random_weights },
      codesName: path.join(run.dir, RUN_FILES.latents),
    },
    options,
  );
}

export interface WrittenAnalysis {
  report: AnalysisReport;
  /** analysis.json */
  jsonPath: string;
  /** report.html */
  htmlPath: string;
}

function writeReportFiles(run: RunContents, report: AnalysisReport): WrittenAnalysis {
  const jsonPath = path.join(run.dir, ANALYSIS_FILE);
  const htmlPath = path.join(run.dir, REPORT_HTML_FILE);
  writeReport(jsonPath, report);
  writeFileAtomic(htmlPath, renderReportHtml({ report, tokens: run.tokens.tokens, metrics: run.metrics }));
  return { report, jsonPath, htmlPath };
}

/** Analyses a run and writes analysis.json and report.html into its directory (without causal evidence: see writeRunEvidence). */
export function writeRunAnalysis(run: RunContents, options: AnalysisOptions = {}): WrittenAnalysis {
  return writeReportFiles(run, analyzeRun(run, options));
}

export type EvidenceRequest = Pick<RunEvidenceOptions, 'top' | 'modelDir' | 'threads' | 'signal' | 'onProgress'>;

/**
 * Adds the causal evidence of an analysed run — CE fidelity, and ablation and logit effects of the
 * first `top` latents of each list — to its analysis.json and report.html. A run that cannot be
 * tested (no model recorded, the model moved or another one, a NaN in a spliced forward pass) keeps
 * its analysis and gets the reason instead, also as a warning message; a cancel or a bug is thrown.
 */
export async function writeRunEvidence(run: RunContents, report: AnalysisReport, o: EvidenceRequest = {}): Promise<WrittenAnalysis> {
  let evidence: AnalysisReport['evidence'];
  try {
    evidence = await runEvidence(run, { ...selectionFromReport(report), ...o });
  } catch (e) {
    if (!isUserError(e) || isCancelled(e)) throw e;
    evidence = { unavailable: (e as Error).message };
  }
  const messages = report.messages.filter((m) => m.code !== 'no-evidence');
  if ('unavailable' in evidence) messages.push({ level: 'warning', code: 'no-evidence', text: `No causal evidence for this run: ${evidence.unavailable}` });
  return writeReportFiles(run, { ...report, evidence, messages });
}
