import * as path from 'node:path';
import { UserError } from '../core/errors';
import { SCAN_FILE } from '../core/scan/format';
import { runScan, type ScanSae } from '../core/scan/scan';
import { formatScan } from '../core/scan/scanText';
import { ANALYSIS_FLAGS, ANALYSIS_USAGE, analysisOptions } from './analyze';
import { type Command, num, parse } from './args';
import { CORPUS_FLAGS, CORPUS_USAGE, inputScope, textInput } from './corpusFlags';
import { duration, withProgress } from './progress';
import { SAE_FLAGS, saeRunFlags } from './saeFlags';

/** SAE flags of a scan: a scan sets each run's layer, and its hook from --hook-template. */
const { layer: _layer, hook: _hook, ...SCAN_SAE_FLAGS } = SAE_FLAGS;
/** Flags that shape a trained SAE, which a release's SAEs fix. */
const TRAINING_FLAGS = ['preset', 'latents', 'k', 'epochs', 'lr', 'l1', 'decor', 'seed', 'batch-tokens', 'engine', 'hook-template'] as const;

export const scanCommand: Command = {
  name: 'scan',
  summary: "one SAE per layer of GPT-2 on a file or a corpus (one extraction; trained, or a release's per-layer SAEs applied), compared in scan.json; resumable",
  usage:
    'latent-lens scan FILE --out SCANDIR [--layers all|0,3,6|2-8] [--hook-template blocks.{L}.hook_mlp_out] [--threshold 0.9] [--no-evidence]\n' +
    '       [--model DIR|gpt2] [--preset seed|course] [--latents N|8x] [--k N|0.5] [--epochs N] [--lr X] [--l1 X] [--decor X] [--seed N] [--batch-tokens 4096] [--engine auto|ort|tfjs] [--threads 2]\n' +
    `       latent-lens scan DIR|GLOB|FILE... --out SCANDIR ${CORPUS_USAGE} [same options] (causal evidence needs one document)\n` +
    '       latent-lens scan FILE --out SCANDIR --sae-release RELEASE [--layers …] [--model DIR|gpt2] [--threads 2]\n' +
    `       [analysis: ${ANALYSIS_USAGE}]\n` +
    '       Run the same command again to resume a stopped scan: finished layers are kept.',
  async run(argv) {
    const { values, positionals } = parse(this, argv, {
      out: { type: 'string' },
      layers: { type: 'string' },
      'hook-template': { type: 'string' },
      'sae-release': { type: 'string' },
      threshold: { type: 'string' },
      'no-evidence': { type: 'boolean' },
      ...CORPUS_FLAGS,
      ...SCAN_SAE_FLAGS,
      ...ANALYSIS_FLAGS,
    });
    if (positionals.length === 0) throw new UserError(`give a text FILE, a folder, a glob or several files.\nusage: ${this.usage}`, 'E_USAGE');
    if (!values.out) throw new UserError(`--out SCANDIR is required.\nusage: ${this.usage}`, 'E_USAGE');
    const release = values['sae-release'];
    const scope = inputScope(positionals, values);
    const { sae: config, engine, threads } = saeRunFlags(values, scope);
    let sae: ScanSae;
    if (release !== undefined) {
      const given = TRAINING_FLAGS.filter((f) => values[f] !== undefined);
      if (given.length) throw new UserError(`--${given[0]} shapes a trained SAE; with --sae-release each layer's SAE is the release's. Drop --${given.join(', --')}.`, 'E_USAGE');
      sae = { kind: 'release', release };
    } else {
      sae = { kind: 'trained', config, hookTemplate: values['hook-template'], engine };
    }
    const input = textInput(positionals, values, scope);
    const analysis = analysisOptions(values);
    const t0 = performance.now();
    const result = await withProgress((signal, onProgress) =>
      runScan({
        ...input,
        shardsDir: values.shards,
        modelSpec: values.model,
        layers: values.layers ?? 'all',
        sae,
        analysis,
        evidence: !values['no-evidence'],
        threshold: num('threshold', values.threshold),
        out: values.out!,
        threads,
        signal,
        onProgress: (p) => onProgress({ ...p, prefix: p.layer ? `layer ${p.layer.layer} (${p.layer.index + 1}/${p.layer.count})` : undefined, totalEtaMs: p.etaMs }),
      }),
    );
    const { scan } = result;
    if (scan.settings.model.random_weights) console.log('*** RANDOM WEIGHTS: the model is a generated test model; these latents say nothing about GPT-2. ***');
    for (const n of result.notes) console.log(`note      ${n}`);
    const done = [result.made.length && `made ${result.made.length} (${result.made.join(', ')})`, result.reanalysed.length && `re-analysed ${result.reanalysed.length}`, result.kept.length && `kept ${result.kept.length} from before`].filter(Boolean);
    const c = result.corpus;
    const files = c ? `${c.files} files${c.skipped ? ` (${c.skipped} skipped, listed in each layer's tokens.json)` : ''}` : `${input.corpus?.files.length} files listed`;
    const what = input.corpus ? `corpus    ${input.source} — ${files}, ` : `scan      ${input.source} — `;
    console.log(`${what}${scan.settings.nTokens} tokens; ${done.join(', ') || 'nothing to do'} in ${duration(performance.now() - t0)}${result.extract ? ` (one extraction on ${result.extract.provider}: ${duration(result.extract.ms)})` : ''}`);
    console.log(`\n${formatScan(scan)}`);
    console.log(`\nwrote     ${path.join(path.resolve(values.out!), SCAN_FILE)} (each layer's run, analysis.json and report.html are in layer-N/)`);
  },
};
