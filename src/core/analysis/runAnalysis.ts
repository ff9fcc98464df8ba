import * as path from 'node:path';
import { readRun, RUN_FILES, type RunContents } from '../run/runDir';
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

/** Analyses a run and writes analysis.json and report.html into its directory. */
export function writeRunAnalysis(run: RunContents, options: AnalysisOptions = {}): WrittenAnalysis {
  const report = analyzeRun(run, options);
  const jsonPath = path.join(run.dir, ANALYSIS_FILE);
  const htmlPath = path.join(run.dir, REPORT_HTML_FILE);
  writeReport(jsonPath, report);
  writeFileAtomic(htmlPath, renderReportHtml({ report, tokens: run.tokens.tokens, metrics: run.metrics }));
  return { report, jsonPath, htmlPath };
}

/** readRun + writeRunAnalysis: what `latent-lens analyze RUNDIR` and `latent-lens train` call. */
export function analyzeRunDir(dir: string, options: AnalysisOptions = {}): WrittenAnalysis {
  return writeRunAnalysis(readRun(dir), options);
}
