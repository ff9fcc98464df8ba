import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRunAnalysis, writeRunEvidence } from '../src/core/analysis/runAnalysis';
import { GPT2_SMALL_SHAPE } from '../src/core/model/fallback';
import { WEIGHTS_FILE } from '../src/core/model/load';
import { makeTestModel } from '../src/core/model/testModel';
import { runPipeline } from '../src/core/pipeline';
import { readRun } from '../src/core/run/runDir';
import { saeConfig } from '../src/core/sae/config';
import { runScan } from '../src/core/scan/scan';

/**
 * The layer scan's cost: `latent-lens scan` of the sample document over all 12 layers against 12 ×
 * one `latent-lens train` of one layer, in one process, on the random model with GPT-2-Small shapes
 * (.cache/bench-gpt2-small, shared with bench:train and bench:evidence), seed preset (6144 latents,
 * k 384, 100 epochs), 2 threads. "train" is what the command does: extract (into activation shards),
 * train streaming from them, write the run, analyse, causal evidence; so is each layer of the scan,
 * which extracts once for all layers.
 * Target: scan ≤ 12 × train + 10 %. train runs first (cold: it pays the extraction session and the
 * model's first read, as a fresh `train` does) and again after the scan (warm), both ratios printed.
 */
const DIR = path.join(__dirname, '..', '.cache', 'bench-gpt2-small');
const THREADS = 2;
const LAYER = 6;

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function timeTrain(text: string, out: string, shardsDir: string): Promise<number> {
  fs.rmSync(out, { recursive: true, force: true });
  const t0 = performance.now();
  await runPipeline({ text, source: 'samples/palinka.md', modelSpec: DIR, sae: saeConfig({ layer: LAYER }), out, shardsDir, threads: THREADS });
  const run = readRun(out);
  const { report } = writeRunAnalysis(run, {});
  await writeRunEvidence(run, report, { threads: THREADS });
  return performance.now() - t0;
}

async function main() {
  if (!fs.existsSync(path.join(DIR, WEIGHTS_FILE))) {
    const t = performance.now();
    makeTestModel({ out: DIR, ...GPT2_SMALL_SHAPE, seed: 0, vocab: 50257 });
    console.log(`made random GPT-2-small-shaped model in ${DIR} (${s(performance.now() - t)})`);
  }
  const text = fs.readFileSync(path.join(__dirname, '..', 'samples', 'palinka.md'), 'utf8');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scan-'));
  try {
    console.log(`random GPT-2-Small-shaped model, samples/palinka.md, seed preset, ${THREADS} threads; load average ${load()}`);
    const shards = path.join(work, 'shards');
    const cold = await timeTrain(text, path.join(work, 'train'), shards);
    console.log(`train of layer ${LAYER} (extract, train, write, analyse, evidence), cold: ${s(cold)}; load ${load()}`);

    const t0 = performance.now();
    const r = await runScan({ text, source: 'samples/palinka.md', modelSpec: DIR, layers: 'all', sae: { kind: 'trained', config: saeConfig({}) }, analysis: {}, evidence: true, out: path.join(work, 'scan'), shardsDir: shards, threads: THREADS });
    const scan = performance.now() - t0;
    console.log(`scan of ${r.scan.rows.length} layers: ${s(scan)} (one extraction: ${s(r.extract!.ms)}; per layer ${r.scan.rows.map((x) => (x.ms / 1000).toFixed(1)).join(', ')} s); load ${load()}`);

    const warm = await timeTrain(text, path.join(work, 'train'), shards);
    console.log(`train of layer ${LAYER}, warm: ${s(warm)}; load ${load()}`);
    for (const [what, t] of [['cold', cold], ['warm', warm]] as const) {
      const ratio = scan / t;
      console.log(`scan / train (${what}) = ${ratio.toFixed(2)} (target ≤ 12 × 1.1 = 13.2: ${ratio <= 13.2 ? 'met' : 'NOT met'})`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
