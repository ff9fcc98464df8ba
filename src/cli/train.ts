import * as path from 'node:path';
import { UserError } from '../core/errors';
import { runPipeline, type PipelineResult } from '../core/pipeline';
import type { AnalysisReport } from '../core/analysis/types';
import { formatAnalysis } from '../core/analysis/analysisText';
import { analyseRun, ANALYSIS_FLAGS, ANALYSIS_USAGE, analysisOptions, ceLines, ceRecovered } from './analyze';
import { type Command, parse, readTextFile } from './args';
import { duration, withProgress } from './progress';
import { SAE_FLAGS, SAE_USAGE, saeRunFlags } from './saeFlags';

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** The one-screen summary printed after a run. */
export function summary(r: PipelineResult, source: string, evidence?: AnalysisReport['evidence']): string {
  const { sae, model, train } = r.cfg;
  const m = r.metrics;
  const f = m.final;
  const lines = [
    ...(model.random_weights ? ['*** RANDOM WEIGHTS: the model is a generated test model; these latents say nothing about GPT-2. ***'] : []),
    ...(r.notice ? [r.notice] : []),
    `model     ${model.name}`,
    `text      ${source} — ${r.nTokens} tokens${r.extract ? ` (extracted on ${r.extract.provider} in ${duration(r.extract.ms)})` : ''}`,
    `hook      ${sae.hook_name} (d_in ${sae.d_in}), preset ${train.preset}`,
    `SAE       ${sae.d_sae} latents, top-k ${sae.k}, λ1 ${train.l1}, λc ${train.decor}, lr ${train.lr}, ${train.epochs} epochs, seed ${train.seed}`,
    `engine    ${m.engine} on ${m.device}; ${m.batching}`,
    `time      ${m.ms_per_epoch.toFixed(1)} ms per epoch, ${duration(m.total_ms)} training in all`,
    `FVE       ${f.fve.toFixed(4)}   CE recovered ${ceRecovered(evidence)}   (final loss ${f.loss.toExponential(3)}, MSE ${f.mse.toExponential(3)})`,
    ...ceLines(evidence),
    `L0        ${f.l0.toFixed(1)} non-zero latents per token`,
    `dead      ${pct(f.dead_fraction)} of latents never fire on this text — layer density ${f.layer_density.toFixed(1)} %`,
    `run       ${path.resolve(r.out)}`,
  ];
  return lines.join('\n');
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'extract one layer of GPT-2 for a file and train a Top-K tied SAE on it; writes a run directory',
  usage:
    `latent-lens train FILE --out RUNDIR ${SAE_USAGE}\n` +
    `       [analysis: ${ANALYSIS_USAGE}]\n` +
    '       latent-lens train --activations ACTS.safetensors --out RUNDIR [same SAE options]',
  async run(argv) {
    const { values, positionals } = parse(this, argv, {
      out: { type: 'string' },
      activations: { type: 'string' },
      ...SAE_FLAGS,
      ...ANALYSIS_FLAGS,
    });
    const out = values.out;
    if (!out) throw new UserError(`--out RUNDIR is required.\nusage: ${this.usage}`, 'E_USAGE');
    if (values.activations !== undefined) {
      if (positionals.length > 0) throw new UserError(`give either a text FILE or --activations, not both.\nusage: ${this.usage}`, 'E_USAGE');
      if (values.model !== undefined) throw new UserError('--model does not apply to --activations: the activations were already extracted with a model.', 'E_USAGE');
    } else if (positionals.length !== 1) {
      throw new UserError(`give exactly one input FILE (got ${positionals.length}), or --activations ACTS.safetensors.\nusage: ${this.usage}`, 'E_USAGE');
    }
    const { sae, engine, threads } = saeRunFlags(values);
    const source = values.activations ?? positionals[0];
    const text = values.activations === undefined ? readTextFile(source) : undefined;

    const analysisOpts = analysisOptions(values); // a bad lexicon file fails here, before any work
    const result = await withProgress((signal, onProgress) =>
      runPipeline({
        text,
        source: values.activations === undefined ? source : undefined,
        activations: values.activations,
        modelSpec: values.model,
        sae,
        out,
        engine,
        threads,
        signal,
        onProgress,
      }),
    );
    const written = await analyseRun(result.out, analysisOpts, { threads });
    console.log(summary(result, source, written.report.evidence));
    console.log(`\n${formatAnalysis(written.report)}`);
    console.log(`\nreport    ${written.htmlPath}`);
  },
};
