import * as path from 'node:path';
import { formatAnalysis } from '../core/analysis/analysisText';
import type { AnalysisReport } from '../core/analysis/types';
import { applySae, type ApplyResult } from '../core/apply';
import { UserError } from '../core/errors';
import { saeKindText, saeSourceText } from '../core/run/describe';
import { analyseRun, ANALYSIS_FLAGS, ANALYSIS_USAGE, analysisOptions, ceLines, ceRecovered } from './analyze';
import { type Command, num, parse, readTextFile } from './args';
import { duration, withProgress } from './progress';

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** The one-screen summary printed after applying an SAE. */
export function applySummary(r: ApplyResult, source: string, evidence?: AnalysisReport['evidence']): string {
  const { sae, model } = r.cfg;
  const f = r.metrics.final;
  const fed = [sae.prepend_bos && 'BOS before each window (not shown)', sae.center_writing_weights && 'centred per token (TransformerLens center_writing_weights)'].filter(Boolean);
  return [
    ...(model.random_weights ? ['*** RANDOM WEIGHTS: the model is a generated test model; these latents say nothing about GPT-2. ***'] : []),
    `model     ${model.name}`,
    `text      ${source} — ${r.nTokens} tokens (extracted on ${r.extract.provider} in ${duration(r.extract.ms)})`,
    `SAE       ${saeSourceText(sae.source)}`,
    `          ${saeKindText(sae)} on ${sae.hook_name} (d_in ${sae.d_in}), trained on ${sae.model_name}${sae.normalize_activations === 'none' ? '' : `, input ${sae.normalize_activations}`}`,
    ...(fed.length ? [`input     ${fed.join('; ')}`] : []),
    `encoded   on ${r.metrics.device} in ${duration(r.metrics.total_ms)}; no training`,
    `FVE       ${f.fve.toFixed(4)}   CE recovered ${ceRecovered(evidence)}   (MSE ${f.mse.toExponential(3)})`,
    ...ceLines(evidence),
    `L0        ${f.l0.toFixed(1)} non-zero latents per token`,
    `dead      ${pct(f.dead_fraction)} of latents never fire on this text — layer density ${f.layer_density.toFixed(1)} %`,
    `run       ${path.resolve(r.out)}`,
    ...r.notes.map((n) => `note      ${n}`),
  ].join('\n');
}

export const applyCommand: Command = {
  name: 'apply',
  summary: "encode a file with an SAE of the field (SAELens or sparsify folder, hub folder, release) or of another run; writes a run directory, no training",
  usage:
    'latent-lens apply FILE --sae DIR|hf:OWNER/NAME[/PATH]|RELEASE[/ID] [--layer N] [--hook NAME] [--model DIR|gpt2] --out RUNDIR [--threads 2] [--no-evidence]\n' +
    `       [analysis: ${ANALYSIS_USAGE}]`,
  async run(argv) {
    const { values, positionals } = parse(this, argv, {
      sae: { type: 'string' },
      layer: { type: 'string' },
      hook: { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string' },
      threads: { type: 'string' },
      'no-evidence': { type: 'boolean' },
      ...ANALYSIS_FLAGS,
    });
    if (positionals.length !== 1) throw new UserError(`give exactly one input FILE (got ${positionals.length}).\nusage: ${this.usage}`, 'E_USAGE');
    if (!values.sae) throw new UserError(`--sae is required: a folder, hf:OWNER/NAME/PATH or a release such as gpt2-small-res-jb/blocks.6.hook_resid_pre.\nusage: ${this.usage}`, 'E_USAGE');
    if (!values.out) throw new UserError(`--out RUNDIR is required.\nusage: ${this.usage}`, 'E_USAGE');
    const layer = num('layer', values.layer);
    if (layer !== undefined && !(Number.isInteger(layer) && layer >= 0)) throw new UserError(`--layer must be an integer ≥ 0, got ${values.layer}.`, 'E_USAGE');
    const given = num('threads', values.threads) ?? 2;
    const threads = given === 0 ? undefined : given; // 0: onnxruntime's choice, as for train
    const file = positionals[0];
    const text = readTextFile(file);
    const analysisOpts = analysisOptions(values);
    const out = values.out;
    const result = await withProgress((signal, onProgress) =>
      applySae({ text, source: file, sae: { spec: values.sae!, layer, hook: values.hook }, modelSpec: values.model, out, threads, signal, onProgress }),
    );
    const written = await analyseRun(result.out, analysisOpts, !values['no-evidence'] && { threads });
    console.log(applySummary(result, file, written.report.evidence));
    console.log(`\n${formatAnalysis(written.report)}`);
    console.log(`\nreport    ${written.htmlPath}`);
  },
};
