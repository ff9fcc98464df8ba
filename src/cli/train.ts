import * as path from 'node:path';
import { UserError } from '../core/errors';
import { runPipeline, type PipelineProgress, type PipelineResult } from '../core/pipeline';
import { writeRunAnalysis, writeRunEvidence, type WrittenAnalysis } from '../core/analysis/runAnalysis';
import type { AnalysisReport } from '../core/analysis/types';
import { readRun } from '../core/run/runDir';
import { formatAnalysis } from '../core/analysis/analysisText';
import { ANALYSIS_FLAGS, ANALYSIS_USAGE, analysisOptions } from './analyze';
import { type Command, parse, readTextFile } from './args';
import { SAE_FLAGS, SAE_USAGE, saeRunFlags } from './saeFlags';

const BAR = 24;

function duration(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function progressLine(p: PipelineProgress): string {
  if (p.phase === 'train' && p.epoch) {
    const { epoch, epochs, metrics, etaMs } = p.epoch;
    const filled = Math.round((BAR * epoch) / epochs);
    return `train [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] epoch ${epoch}/${epochs}  loss ${metrics.loss.toExponential(3)}  FVE ${metrics.fve.toFixed(3)}  ETA ${duration(etaMs)}`;
  }
  const pct = p.fraction === undefined ? '' : ` ${Math.floor(100 * p.fraction)}%`;
  return `${p.message}${pct}`;
}

/**
 * Progress on stderr: one line redrawn in place on a terminal; otherwise plain lines, one per
 * phase change and per tenth of the epochs (or of a download).
 */
function progressReporter(stream: NodeJS.WriteStream): { update(p: PipelineProgress): void; end(): void } {
  let lastDraw = 0;
  let lastKey = '';
  let drawn = false;
  return {
    update(p) {
      const line = progressLine(p);
      if (stream.isTTY) {
        const now = Date.now();
        const final = p.epoch !== undefined && p.epoch.epoch === p.epoch.epochs;
        if (now - lastDraw < 100 && !final && p.phase === 'train') return;
        lastDraw = now;
        stream.write(`\r\x1b[K${line.slice(0, (stream.columns || 100) - 1)}`);
        drawn = true;
      } else {
        const key = `${p.phase}:${p.message.startsWith('epoch') ? '' : p.message}:${p.fraction === undefined ? '' : Math.floor(10 * p.fraction)}`;
        if (key === lastKey) return;
        lastKey = key;
        stream.write(`${line}\n`);
      }
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

function ceRecovered(e: AnalysisReport['evidence']): string {
  if (!e) return '—';
  if ('unavailable' in e) return '— (no causal evidence, see below)';
  return e.fidelity.ceRecovered === null ? '— (zero ablation costs nothing)' : e.fidelity.ceRecovered.toFixed(3);
}

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
    ...(evidence && 'fidelity' in evidence
      ? [`CE        clean ${evidence.fidelity.ceClean.toFixed(3)}, SAE spliced in ${evidence.fidelity.ceSpliced.toFixed(3)}, zero-ablated ${evidence.fidelity.ceZeroAblation.toFixed(3)} nats per token`]
      : []),
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
    const controller = new AbortController();
    const onSigint = () => {
      process.stderr.write('\ncancelling… (press Ctrl-C again to stop at once)\n');
      controller.abort();
      process.off('SIGINT', onSigint);
    };
    process.on('SIGINT', onSigint);
    const progress = progressReporter(process.stderr);
    let result: PipelineResult;
    try {
      result = await runPipeline({
        text,
        source: values.activations === undefined ? source : undefined,
        activations: values.activations,
        modelSpec: values.model,
        sae,
        out,
        engine,
        threads,
        signal: controller.signal,
        onProgress: (p) => progress.update(p),
      });
    } finally {
      progress.end();
      process.off('SIGINT', onSigint);
    }
    const run = readRun(result.out);
    const analysis = writeRunAnalysis(run, analysisOpts);
    process.stderr.write('evidence: CE with the SAE spliced in, zero-ablated, and latent ablations…\n');
    process.on('SIGINT', onSigint);
    let written: WrittenAnalysis;
    try {
      written = await writeRunEvidence(run, analysis.report, { threads, signal: controller.signal });
    } finally {
      process.off('SIGINT', onSigint);
    }
    console.log(summary(result, source, written.report.evidence));
    console.log(`\n${formatAnalysis(written.report)}`);
    console.log(`\nreport    ${written.htmlPath}`);
  },
};
