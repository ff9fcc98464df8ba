import * as path from 'node:path';
import { UserError } from '../core/errors';
import { runPipeline, type PipelineResult } from '../core/pipeline';
import type { AnalysisReport } from '../core/analysis/types';
import { formatAnalysis } from '../core/analysis/analysisText';
import { skipCounts } from '../core/corpus/scan';
import { saeConfigOf } from '../core/run/runCfg';
import { scheduleText } from '../core/sae/schedule';
import { analyseRun, ANALYSIS_FLAGS, ANALYSIS_USAGE, analysisOptions, ceLines, ceRecovered } from './analyze';
import { type Command, parse } from './args';
import { CORPUS_FLAGS, CORPUS_USAGE, inputScope, textInput } from './corpusFlags';
import { duration, withProgress } from './progress';
import { SAE_FLAGS, SAE_USAGE, saeRunFlags } from './saeFlags';

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const count = (n: number) => n.toLocaleString('en-US');
/** Skipped files listed by name in the summary; the rest are counted (tokens.json lists them all). */
const SKIPPED_SHOWN = 5;

function inputLines(r: PipelineResult, source: string): string[] {
  const ex = r.extract;
  const speed = ex && ex.extracted > 0 ? `, ${count(Math.round((1000 * ex.extracted) / ex.ms))} tokens/s` : '';
  const reused = ex && ex.reused > 0 ? `; ${count(ex.reused)} tokens' activations reused from an earlier run's shards` : '';
  const extracted = ex ? ` (extracted on ${ex.provider} in ${duration(ex.ms)}${speed}${reused})` : '';
  if (!r.corpus) return [`text      ${source} — ${r.nTokens} tokens${extracted}`];
  const { skipped } = r.corpus;
  const shown = skipped.slice(0, SKIPPED_SHOWN).map((s) => `${s.path} (${s.detail})`);
  const more = skipped.length > SKIPPED_SHOWN ? [`… and ${skipped.length - SKIPPED_SHOWN} more (all in tokens.json)`] : [];
  return [
    `corpus    ${r.corpus.root} — ${r.corpus.files} files, ${count(r.nTokens)} tokens${extracted}`,
    ...(skipped.length ? [`skipped   ${skipped.length} file${skipped.length === 1 ? '' : 's'} (${skipCounts(skipped)}): ${[...shown, ...more].join('; ')}`] : []),
  ];
}

/** The one-screen summary printed after a run. */
export function summary(r: PipelineResult, source: string, evidence?: AnalysisReport['evidence']): string {
  const { sae, model, train } = r.cfg;
  const m = r.metrics;
  const f = m.final;
  const s = m.schedule;
  const lines = [
    ...(model.random_weights ? ['*** RANDOM WEIGHTS: the model is a generated test model; these latents say nothing about GPT-2. ***'] : []),
    ...(r.notice ? [r.notice] : []),
    `model     ${model.name}`,
    ...inputLines(r, source),
    `hook      ${sae.hook_name} (d_in ${sae.d_in}), preset ${train.preset}`,
    `SAE       ${sae.d_sae} latents, top-k ${sae.k}, λ1 ${train.l1}, λc ${train.decor}${train.auxk ? `, AuxK α ${train.auxk}` : ''}, lr ${train.lr}, seed ${train.seed}`,
    `schedule  ${scheduleText(saeConfigOf(r.cfg))}: ran ${s.epochs} epochs, ${count(s.steps)} steps, ${count(s.tokens)} tokens; stopped by ${s.why}`,
    `engine    ${m.engine} on ${m.device}; ${m.batching}`,
    `time      ${m.ms_per_epoch.toFixed(1)} ms per epoch, ${duration(m.total_ms)} training in all (${count(Math.round((1000 * s.tokens) / m.total_ms))} tokens/s)`,
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
  summary: 'extract one layer of GPT-2 for a file or a corpus (folders, globs, files) and train a Top-K tied SAE on it; writes a run directory',
  usage:
    `latent-lens train FILE --out RUNDIR ${SAE_USAGE}\n` +
    `       latent-lens train DIR|GLOB|FILE... --out RUNDIR ${CORPUS_USAGE} [same SAE options]\n` +
    `       [analysis: ${ANALYSIS_USAGE}]\n` +
    '       latent-lens train --activations ACTS.safetensors --out RUNDIR [same SAE options]',
  async run(argv) {
    const { values, positionals } = parse(this, argv, {
      out: { type: 'string' },
      activations: { type: 'string' },
      ...CORPUS_FLAGS,
      ...SAE_FLAGS,
      ...ANALYSIS_FLAGS,
    });
    const out = values.out;
    if (!out) throw new UserError(`--out RUNDIR is required.\nusage: ${this.usage}`, 'E_USAGE');
    if (values.activations !== undefined) {
      if (positionals.length > 0) throw new UserError(`give either text inputs or --activations, not both.\nusage: ${this.usage}`, 'E_USAGE');
      if (values.model !== undefined) throw new UserError('--model does not apply to --activations: the activations were already extracted with a model.', 'E_USAGE');
    } else if (positionals.length === 0) {
      throw new UserError(`give a text FILE, a folder, a glob or several files (or --activations ACTS.safetensors).\nusage: ${this.usage}`, 'E_USAGE');
    }
    const scope = inputScope(positionals, values, values.activations);
    const { sae, engine, threads } = saeRunFlags(values, scope);
    const input = values.activations === undefined ? textInput(positionals, values, scope) : undefined;
    const source = values.activations ?? input!.source;
    const { text, corpus } = input ?? {};

    const analysisOpts = analysisOptions(values); // a bad lexicon file fails here, before any work
    const result = await withProgress((signal, onProgress) =>
      runPipeline({
        text,
        source: text === undefined ? undefined : source,
        corpus,
        activations: values.activations,
        modelSpec: values.model,
        sae,
        out,
        shardsDir: values.shards,
        engine,
        threads,
        releaseSessions: true,
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
