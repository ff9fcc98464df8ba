import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRunAnalysis } from '../src/core/analysis/runAnalysis';
import { listCorpus } from '../src/core/corpus/list';
import { CORPUS_MAX_FILE_BYTES, CORPUS_MAX_TOKENS } from '../src/core/corpus/scan';
import { WEIGHTS_FILE } from '../src/core/model/load';
import { makeTestModel } from '../src/core/model/testModel';
import { runPipeline, type Phase } from '../src/core/pipeline';
import { readRun } from '../src/core/run/runDir';
import { saeConfig } from '../src/core/sae/config';
import { countTokens } from '../src/core/tokenizer';

/**
 * A corpus run end to end, as `latent-lens train DIR` does it with the corpus defaults (seed preset:
 * blocks.6.hook_mlp_out, 6144 latents, k 384; AuxK 1/32; 4096-token minibatches; at most 100 epochs
 * or 2M tokens, early stopping), on the random GPT-2-Small-shaped model (.cache/bench-gpt2-small)
 * and a corpus of ~200k tokens built from the README and Markdown files in node_modules (copied
 * into .cache/bench-corpus, the first time). Prints wall time, extraction and training tokens/s,
 * the peak RSS of each phase and of the process, then the analysis's time and RSS.
 * Target: peak RSS ≤ 2 GB. `--tokens N` builds a smaller corpus (a quick check), `--threads N` (default 2),
 * `--steps N` trains only N steps (the peak comes from the final encode of every token, not the steps),
 * `--reuse-shards` keeps the shards of an earlier (cancelled) bench run instead of extracting again.
 */
const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const TARGET = flag('tokens', CORPUS_MAX_TOKENS - 10);
const THREADS = flag('threads', 2);
const STEPS = flag('steps', 0);
const CACHE = path.join(__dirname, '..', '.cache');
const MODEL_DIR = path.join(CACHE, 'bench-gpt2-small');
const CORPUS_DIR = path.join(CACHE, `bench-corpus-${TARGET}`);

const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GB`;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** README and Markdown files under node_modules, in path order, as one flat folder of ≈ TARGET tokens. */
function buildCorpus(): void {
  if (fs.existsSync(CORPUS_DIR)) return;
  const found: string[] = [];
  const visit = (dir: string, depth: number) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory() && depth < 3) visit(p, depth + 1);
      else if (st.isFile() && /^readme|\.md$/i.test(name) && st.size > 2048 && st.size < CORPUS_MAX_FILE_BYTES) found.push(p);
    }
  };
  visit(path.join(__dirname, '..', 'node_modules'), 0);
  const tmp = `${CORPUS_DIR}.tmp-${process.pid}`;
  fs.mkdirSync(tmp, { recursive: true });
  let total = 0;
  for (const [i, file] of found.entries()) {
    const text = fs.readFileSync(file, 'utf8');
    if (text.trim() === '' || text.includes('\u0000')) continue;
    const n = countTokens(text);
    if (total + n > TARGET) continue;
    fs.writeFileSync(path.join(tmp, `${String(i).padStart(4, '0')}-${path.basename(path.dirname(file))}.md`), text);
    total += n;
    if (total > TARGET - 500) break;
  }
  fs.renameSync(tmp, CORPUS_DIR);
}

async function main() {
  if (!fs.existsSync(path.join(MODEL_DIR, WEIGHTS_FILE))) makeTestModel({ out: MODEL_DIR, layers: 12, dModel: 768, heads: 12, seed: 0, vocab: 50257, positions: 1024 });
  buildCorpus();
  const corpus = listCorpus([CORPUS_DIR]);
  const shardsDir = path.join(CACHE, 'bench-corpus-shards');
  if (!args.includes('--reuse-shards')) fs.rmSync(shardsDir, { recursive: true, force: true });
  const out = path.join(os.tmpdir(), `bench-corpus-run-${process.pid}`);
  const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
  console.log(`corpus ${CORPUS_DIR}: ${corpus.files.length} files; model ${MODEL_DIR} (random weights, GPT-2 Small shapes); ${THREADS} threads; load average ${load} on ${os.cpus().length} CPUs`);

  const peak = new Map<Phase, number>();
  const t0 = performance.now();
  let lastLine = 0;
  const r = await runPipeline({
    corpus: { ...corpus, limits: { maxTokens: { value: CORPUS_MAX_TOKENS, setting: 'CORPUS_MAX_TOKENS' }, maxFileBytes: { value: CORPUS_MAX_FILE_BYTES, setting: 'CORPUS_MAX_FILE_BYTES' } } },
    modelSpec: MODEL_DIR,
    sae: saeConfig(STEPS ? { steps: STEPS } : {}, 'corpus'),
    out,
    shardsDir,
    threads: THREADS,
    releaseSessions: true, // as `latent-lens train` does
    onProgress: (p) => {
      peak.set(p.phase, Math.max(peak.get(p.phase) ?? 0, process.memoryUsage.rss()));
      const now = performance.now();
      if (p.epoch || now - lastLine > 30_000) {
        lastLine = now;
        process.stderr.write(`  [${s(now - t0)}] ${p.epoch ? `epoch ${p.epoch.epoch}/${p.epoch.epochs}, FVE ${p.epoch.metrics.fve.toFixed(4)}, dead ${(100 * p.epoch.metrics.dead_fraction).toFixed(1)} %, ${s(p.epoch.metrics.ms)}` : p.message}\n`);
      }
    },
  });
  const wall = performance.now() - t0;
  const afterTrain = process.resourceUsage().maxRSS * 1024;
  const ex = r.extract!;
  const sch = r.metrics.schedule;
  console.log(`tokens      ${count(r.nTokens)} in ${r.corpus!.files} files (${r.corpus!.skipped.length} skipped)`);
  console.log(`extraction  ${s(ex.ms)}, ${count((1000 * ex.extracted) / ex.ms)} tokens/s on ${ex.provider}`);
  console.log(`training    ${s(r.metrics.total_ms)}: ${sch.epochs} epochs, ${count(sch.steps)} steps, ${count(sch.tokens)} tokens, ${count((1000 * sch.tokens) / r.metrics.total_ms)} tokens/s (${(r.metrics.total_ms * 1000 / sch.tokens).toFixed(1)} µs per token-step); stopped by ${sch.why}`);
  console.log(`            final FVE ${r.metrics.final.fve.toFixed(4)}, L0 ${r.metrics.final.l0.toFixed(1)}, dead ${(100 * r.metrics.final.dead_fraction).toFixed(1)} %`);
  console.log(`wall        ${s(wall)} (read, extract, train, encode, write)`);
  console.log(`RSS         peak per phase: ${[...peak].map(([ph, b]) => `${ph} ${gb(b)}`).join(', ')}; process peak ${gb(afterTrain)}`);

  const a0 = performance.now();
  const run = readRun(out);
  writeRunAnalysis(run, {});
  console.log(`analysis    ${s(performance.now() - a0)} (read the run, analyse, write analysis.json and report.html: ${(fs.statSync(path.join(out, 'report.html')).size / 1e6).toFixed(0)} MB); process peak RSS now ${gb(process.resourceUsage().maxRSS * 1024)}`);
  console.log(`target      peak RSS ≤ 2 GB for a 200k-token corpus`);
  fs.rmSync(out, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
