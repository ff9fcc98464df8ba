import * as path from 'node:path';
import { readReport } from '../core/analysis/reportFile';
import { ANALYSIS_FILE } from '../core/analysis/types';
import { formatEvidence } from '../core/evidence/evidenceText';
import { DEFAULT_EVIDENCE_TOP, runEvidence, selectionFromReport } from '../core/evidence/runEvidence';
import { UserError } from '../core/errors';
import { readRun } from '../core/run/runDir';
import { type Command, num, parse } from './args';

function latentId(v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new UserError(`--latent must be a latent id (a non-negative integer), got "${v}".`, 'E_USAGE');
  return Number(v);
}

export const evidenceCommand: Command = {
  name: 'evidence',
  summary: 'causal tests of a run: CE with the SAE spliced in, zero-ablated and recovered; per latent, ablation ΔCE and logit effects',
  usage: `latent-lens evidence RUNDIR [--latent J]... [--top ${DEFAULT_EVIDENCE_TOP}] [--model DIR] [--threads N] [--json]`,
  async run(argv) {
    const { values, positionals } = parse(this, argv, {
      latent: { type: 'string', multiple: true },
      top: { type: 'string' },
      model: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UserError(`give exactly one RUNDIR (got ${positionals.length}).\nusage: ${this.usage}`, 'E_USAGE');
    const latents = values.latent?.map(latentId);
    const run = readRun(positionals[0]);
    const report = readReport(path.join(run.dir, ANALYSIS_FILE));
    const evidence = await runEvidence(run, {
      ...selectionFromReport(report),
      latents,
      top: num('top', values.top),
      modelDir: values.model,
      threads: num('threads', values.threads),
    });
    console.log(values.json ? JSON.stringify(evidence) : formatEvidence(evidence));
  },
};
