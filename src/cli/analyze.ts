import { formatAnalysis } from '../core/analysis/analysisText';
import type { AnalysisOptions } from '../core/analysis/analyze';
import { readLexiconFile, resolveConcept } from '../core/analysis/lexicon';
import { writeRunAnalysis, writeRunEvidence, type EvidenceRequest, type WrittenAnalysis } from '../core/analysis/runAnalysis';
import type { AnalysisReport } from '../core/analysis/types';
import { readRun } from '../core/run/runDir';
import { UserError } from '../core/errors';
import { type Command, num, parse } from './args';
import { withProgress } from './progress';

/** Analysis flags shared by `analyze` and `stability`. */
export const ANALYSIS_FLAGS = {
  concept: { type: 'string' },
  lexicon: { type: 'string' },
  contrast: { type: 'string' },
  top: { type: 'string' },
  permutations: { type: 'string' },
  'max-permutations': { type: 'string' },
  'analysis-seed': { type: 'string' },
  'punctuation-threshold': { type: 'string' },
  'proxy-threshold': { type: 'string' },
  alpha: { type: 'string' },
  'min-support': { type: 'string' },
} as const;

export const ANALYSIS_USAGE =
  '[--concept geography|FILE] [--lexicon gazetteer|course|FILE] [--contrast FILE] [--top 10] [--permutations 1000] [--max-permutations N] [--analysis-seed 0] [--punctuation-threshold 0.5] [--proxy-threshold 0.3] [--alpha 0.05] [--min-support 2]';

type AnalysisFlagValues = { [K in keyof typeof ANALYSIS_FLAGS]?: string };

export function analysisOptions(v: AnalysisFlagValues): AnalysisOptions {
  return {
    concept: resolveConcept(v.concept, v.lexicon),
    contrast: v.contrast === undefined ? undefined : readLexiconFile(v.contrast),
    top: num('top', v.top),
    permutations: num('permutations', v.permutations),
    maxPermutations: num('max-permutations', v['max-permutations']),
    seed: num('analysis-seed', v['analysis-seed']),
    punctuationThreshold: num('punctuation-threshold', v['punctuation-threshold']),
    proxyThreshold: num('proxy-threshold', v['proxy-threshold']),
    alpha: num('alpha', v.alpha),
    minSupport: num('min-support', v['min-support']),
  };
}

/**
 * What train, apply and analyze do after a run is written: the analysis, then (unless `evidence` is
 * false) its causal evidence, with Ctrl-C wired to cancel it. Writes analysis.json and report.html.
 */
export async function analyseRun(dir: string, analysis: AnalysisOptions, evidence: Omit<EvidenceRequest, 'signal'> | false): Promise<WrittenAnalysis> {
  const run = readRun(dir);
  const analysed = writeRunAnalysis(run, analysis);
  if (evidence === false) return analysed;
  process.stderr.write('evidence: CE with the SAE spliced in, zero-ablated, and latent ablations…\n');
  return withProgress((signal) => writeRunEvidence(run, analysed.report, { ...evidence, signal }));
}

/** CE recovered for a summary's FVE line. */
export function ceRecovered(e: AnalysisReport['evidence']): string {
  if (!e) return '—';
  if ('unavailable' in e) return '— (no causal evidence, see below)';
  return e.fidelity.ceRecovered === null ? '— (zero ablation costs nothing)' : e.fidelity.ceRecovered.toFixed(3);
}

/** A summary's CE line, when there is evidence. */
export function ceLines(e: AnalysisReport['evidence']): string[] {
  return e && 'fidelity' in e ? [`CE        clean ${e.fidelity.ceClean.toFixed(3)}, SAE spliced in ${e.fidelity.ceSpliced.toFixed(3)}, zero-ablated ${e.fidelity.ceZeroAblation.toFixed(3)} nats per token`] : [];
}

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'analyse a run directory: density, concept selectivity with p-values, punctuation noise, proxies, causal evidence; writes analysis.json and report.html',
  usage: `latent-lens analyze RUNDIR ${ANALYSIS_USAGE} [--no-evidence] [--model DIR] [--threads N]`,
  async run(argv) {
    const { values, positionals } = parse(this, argv, {
      ...ANALYSIS_FLAGS,
      'no-evidence': { type: 'boolean' },
      model: { type: 'string' },
      threads: { type: 'string' },
    });
    if (positionals.length !== 1) throw new UserError(`give exactly one RUNDIR (got ${positionals.length}).\nusage: ${this.usage}`, 'E_USAGE');
    const { report, jsonPath, htmlPath } = await analyseRun(positionals[0], analysisOptions(values), !values['no-evidence'] && { modelDir: values.model, threads: num('threads', values.threads) });
    console.log(formatAnalysis(report));
    console.log(`\nwrote ${jsonPath}\nwrote ${htmlPath}`);
  },
};
