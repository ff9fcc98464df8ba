import { formatAnalysis } from '../core/analysis/analysisText';
import type { AnalysisOptions } from '../core/analysis/analyze';
import { readLexiconFile, resolveConcept } from '../core/analysis/lexicon';
import { writeRunAnalysis, writeRunEvidence } from '../core/analysis/runAnalysis';
import { readRun } from '../core/run/runDir';
import { UserError } from '../core/errors';
import { type Command, num, parse } from './args';

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
    const run = readRun(positionals[0]);
    const analysed = writeRunAnalysis(run, analysisOptions(values));
    const { report, jsonPath, htmlPath } = values['no-evidence']
      ? analysed
      : await writeRunEvidence(run, analysed.report, { modelDir: values.model, threads: num('threads', values.threads) });
    console.log(formatAnalysis(report));
    console.log(`\nwrote ${jsonPath}\nwrote ${htmlPath}`);
  },
};
