import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../core/analysis/reportFile';
import { writeRunAnalysis } from '../core/analysis/runAnalysis';
import { DEFAULT_RECUR_COSINE, formatStability, seedStability, STABILITY_FILE, type StabilityRun } from '../core/analysis/stability';
import { UserError } from '../core/errors';
import { runPipeline } from '../core/pipeline';
import { readRun } from '../core/run/runDir';
import { ANALYSIS_FLAGS, ANALYSIS_USAGE, analysisOptions } from './analyze';
import { type Command, num, parse, readTextFile } from './args';
import { SAE_FLAGS, SAE_USAGE, saeRunFlags } from './saeFlags';

const SEED_DIR = /^seed-\d+$/;

/** The output folder may be new, empty, or one this command wrote before (seed-N run dirs and stability.json). */
function checkOut(dir: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`--out ${dir} is a file; give a directory for the seed runs.`, 'E_OUTPUT');
  const foreign = fs.readdirSync(dir).filter((e) => e !== STABILITY_FILE && !SEED_DIR.test(e));
  if (foreign.length) throw new UserError(`--out ${dir} holds other files (${foreign.slice(0, 3).join(', ')}); choose another --out or empty it.`, 'E_OUTPUT');
}

export const stabilityCommand: Command = {
  name: 'stability',
  summary: 'train SAEs with several seeds and report which concept-selective latents recur (decoder cosine)',
  usage:
    'latent-lens stability FILE|ACTS.safetensors [--seeds 5] [--threshold 0.9] [--out DIR (default FILE.stability)] ' +
    `${SAE_USAGE} ${ANALYSIS_USAGE}   (--seed is the first seed)`,
  async run(argv) {
    const { values, positionals } = parse(this, argv, {
      seeds: { type: 'string' },
      threshold: { type: 'string' },
      out: { type: 'string' },
      ...SAE_FLAGS,
      ...ANALYSIS_FLAGS,
    });
    if (positionals.length !== 1) throw new UserError(`give exactly one input FILE (got ${positionals.length}).\nusage: ${this.usage}`, 'E_USAGE');
    const file = positionals[0];
    const seeds = num('seeds', values.seeds) ?? 5;
    if (!Number.isInteger(seeds) || seeds < 2 || seeds > 100) throw new UserError(`--seeds must be an integer from 2 to 100, got ${values.seeds}.`, 'E_USAGE');
    const threshold = num('threshold', values.threshold) ?? DEFAULT_RECUR_COSINE;
    if (!(threshold > -1 && threshold <= 1)) throw new UserError(`--threshold is a cosine in (−1, 1], got ${values.threshold}.`, 'E_USAGE');
    const { sae, engine, threads } = saeRunFlags(values);
    const activations = file.endsWith('.safetensors');
    if (activations && values.model !== undefined) throw new UserError('--model does not apply to an activations file: its activations were already extracted.', 'E_USAGE');
    const analysis = analysisOptions(values);
    const first = sae.seed;
    const text = activations ? undefined : readTextFile(file);
    const out = values.out ?? `${path.basename(file)}.stability`;
    checkOut(out);

    const runs: StabilityRun[] = [];
    let shape = { dIn: 0, nLatents: 0 };
    for (let i = 0; i < seeds; i++) {
      const seed = first + i;
      const dir = path.join(out, `seed-${seed}`);
      process.stderr.write(`seed ${seed} (${i + 1}/${seeds}): training → ${dir}\n`);
      const result = await runPipeline({
        text,
        source: activations ? undefined : file,
        activations: activations ? file : undefined,
        modelSpec: values.model,
        sae: { ...sae, seed },
        out: dir,
        engine,
        threads,
      });
      if (i === 0 && result.notice) process.stderr.write(`${result.notice}\n`);
      const run = readRun(dir);
      shape = { dIn: run.cfg.sae.d_in, nLatents: run.cfg.sae.d_sae };
      runs.push({ seed, w: run.sae.wEnc, report: writeRunAnalysis(run, analysis).report, dir });
    }
    const report = seedStability(runs, shape.dIn, shape.nLatents, threshold);
    const jsonPath = path.join(out, STABILITY_FILE);
    writeFileAtomic(jsonPath, `${JSON.stringify(report, null, 1)}\n`);
    if (runs[0].report.run.randomWeights) console.log('*** RANDOM WEIGHTS: a generated test model, not GPT-2; these latents mean nothing. ***');
    console.log(formatStability(report));
    console.log(`\nwrote ${jsonPath} (each seed's run, analysis.json and report.html are in ${out}/seed-N)`);
  },
};
