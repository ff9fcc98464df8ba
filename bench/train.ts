import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { extractActivations } from '../src/core/extract';
import { checkFinite, loadModel, WEIGHTS_FILE } from '../src/core/model/load';
import { makeTestModel } from '../src/core/model/testModel';
import { Rng } from '../src/core/rng';
import { initWeights } from '../src/core/sae/init';
import { createOrtEngine } from '../src/core/sae/ortEngine';
import { relaxedSimd } from '../src/core/sae/wasm/relaxedSimd';
import { tokenize } from '../src/core/tokenizer';
import type { EngineOptions, SaeHyper, TrainEngine } from '../src/core/sae/types';
import { buildNaiveGraph } from './naiveGraph';

/**
 * Training speed, ms per epoch (one full-batch Adam step), 2 threads:
 * - workload S: 220 tokens × 768, 6144 latents, k 384, MSE only, 100 epochs (target ≤ 40 ms/epoch);
 * - the course preset: 220 × 3072, 6144 latents, k 1024, λ1 1.0, λc 0.0005.
 * Engines: ort (src/core/sae/ortEngine.ts: on the CPU its sparse kernels when λc = 0, the train
 * graph otherwise), the naive dense graph (bench/naiveGraph.ts) and tfjs (src/core/sae/tfjsEngine.ts,
 * when present). The ort engines run on isotropic normal data (every latent fires: the worst case
 * of the graph, which skips latents that fire on no token) and on data with a strong shared mean
 * direction, as real MLP activations have. The dense engines run on the normal data only.
 *
 * Then the batch-size sweep: workload S's SAE on real-shaped activations (blocks.6.hook_mlp_out of
 * the random GPT-2-Small-shaped model, .cache/bench-gpt2-small, on a long English licence text),
 * µs per token-step at 256 … 16k tokens per step. Targets on 2 cores: 1k ≤ 100 µs, 8k ≤ 1.25 × 1k.
 * `npm run bench:train -- --sweep` runs the sweep only.
 */
const THREADS = 2;
const EPOCHS = 100;
const NAIVE_STEPS = 10;
const TFJS_BUDGET_MS = 120_000; // an engine whose projected 100 epochs exceed this is timed on one step only
const TFJS_MAX_STEP_MS = 30_000; // the course preset is skipped when one of its steps would take longer

interface Workload {
  name: string;
  n: number;
  hyper: SaeHyper;
}

const adam = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const WORKLOADS: Workload[] = [
  { name: 'workload S (seed preset)', n: 220, hyper: { dIn: 768, nLatents: 6144, k: 384, l1: 0, decor: 0, ...adam } },
  { name: 'course preset', n: 220, hyper: { dIn: 3072, nLatents: 6144, k: 1024, l1: 1.0, decor: 0.0005, ...adam } },
];

/** x [n, d]: N(0, 1) per feature, plus a shared mean vector with N(0, 3²) entries when `shared`. */
function activations(n: number, d: number, shared: boolean): Float32Array {
  const rng = new Rng(shared ? 2 : 1);
  const x = rng.fillNormal(new Float32Array(n * d), 1);
  if (shared) {
    const mean = rng.fillNormal(new Float32Array(d), 3);
    for (let i = 0; i < x.length; i++) x[i] += mean[i % d];
  }
  return x;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)).padStart(8);

/** Times `steps` engine steps after two warm-up steps; returns ms per step (mean, median, min) and the mean fired count. */
async function timeEngine(engine: TrainEngine, x: Float32Array, n: number, steps: number) {
  await engine.step(x, n);
  await engine.step(x, n); // the second step still allocates onnxruntime's arena
  const ms: number[] = [];
  let fired = 0;
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    const r = await engine.step(x, n);
    ms.push(performance.now() - t0);
    fired += r.fired.reduce((a, v) => a + v, 0) / steps;
  }
  return { mean: ms.reduce((a, v) => a + v, 0) / steps, median: median(ms), min: Math.min(...ms), fired };
}

async function timeNaive(h: SaeHyper, w0: Float32Array, x: Float32Array, n: number): Promise<number> {
  const session = await ort.InferenceSession.create(buildNaiveGraph(h), { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const dims = [h.dIn, h.nLatents];
  let feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', x, [n, h.dIn]),
    w: new ort.Tensor('float32', Float32Array.from(w0), dims),
    m: new ort.Tensor('float32', new Float32Array(w0.length), dims),
    v: new ort.Tensor('float32', new Float32Array(w0.length), dims),
    t: new ort.Tensor('float32', Float32Array.of(0), []),
  };
  const step = async () => {
    const out = await session.run(feeds);
    feeds = { x: feeds.x, w: out.w_next as ort.Tensor, m: out.m_next as ort.Tensor, v: out.v_next as ort.Tensor, t: out.t_next as ort.Tensor };
  };
  await step();
  const t0 = performance.now();
  for (let s = 0; s < NAIVE_STEPS; s++) await step();
  await session.release();
  return (performance.now() - t0) / NAIVE_STEPS;
}

type CreateTfjs = (o: EngineOptions) => Promise<TrainEngine>;

function loadTfjsEngine(): CreateTfjs | undefined {
  const file = path.join(__dirname, '..', 'src', 'core', 'sae', 'tfjsEngine.ts');
  if (!fs.existsSync(file)) return undefined;
  return (require(file) as { createTfjsEngine?: CreateTfjs }).createTfjsEngine;
}

const MODEL_DIR = path.join(__dirname, '..', '.cache', 'bench-gpt2-small');
const SWEEP = [256, 1024, 4096, 8192, 16384];
const HOOK = 'blocks.6.hook_mlp_out';

/** [T, 768] activations of a long licence text (cached in .cache/ after the first extraction). */
async function realActivations(T: number): Promise<Float32Array> {
  const cache = path.join(__dirname, '..', '.cache', `bench-train-acts-${T}.f32`);
  if (fs.existsSync(cache)) {
    const b = fs.readFileSync(cache);
    return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  }
  if (!fs.existsSync(path.join(MODEL_DIR, WEIGHTS_FILE))) makeTestModel({ out: MODEL_DIR, layers: 12, dModel: 768, heads: 12, seed: 0, vocab: 50257, positions: 1024 });
  const licence = path.join(__dirname, '..', 'node_modules', 'typed-rest-client', 'ThirdPartyNotice.txt');
  const sample = fs.readFileSync(fs.existsSync(licence) ? licence : path.join(__dirname, '..', 'samples', 'palinka.md'), 'utf8');
  let text = sample;
  while (tokenize(text).length < T) text += '\n\n' + sample;
  const model = loadModel(MODEL_DIR);
  checkFinite(model);
  const t0 = performance.now();
  const acts = (await extractActivations(tokenize(text).slice(0, T), model, [HOOK], { threads: THREADS })).acts.get(HOOK)!;
  console.log(`(extracted ${T} tokens' ${HOOK} from ${path.basename(fs.existsSync(licence) ? licence : 'palinka.md')} in ${((performance.now() - t0) / 1000).toFixed(0)} s; cached in ${cache})`);
  fs.writeFileSync(cache, Buffer.from(acts.buffer, acts.byteOffset, acts.byteLength));
  return acts;
}

async function sweep() {
  const h = WORKLOADS[0].hyper;
  const all = await realActivations(SWEEP[SWEEP.length - 1]);
  console.log(`\nbatch-size sweep, workload S's SAE (${h.dIn} → ${h.nLatents}, k ${h.k}, MSE, Adam) on real-shaped activations (${HOOK}, random GPT-2-Small-shaped model), ${THREADS} threads`);
  // The fastest step is the one least slowed by other processes on a shared machine.
  console.log(`  per token-step from the fastest of the timed steps (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; kernels ${relaxedSimd() ? 'with' : 'without'} fused multiply-add)`);
  const perToken: Record<number, number> = {};
  for (const n of SWEEP) {
    const engine = await createOrtEngine({ hyper: h, w0: initWeights(h.dIn, h.nLatents, 0), threads: THREADS });
    const steps = Math.max(3, Math.round(32768 / n));
    const r = await timeEngine(engine, all.subarray(0, n * h.dIn), n, steps);
    await engine.dispose();
    perToken[n] = (1000 * r.min) / n;
    const vs1k = perToken[1024] ? `  (${(perToken[n] / perToken[1024]).toFixed(2)} × 1k)` : '';
    console.log(`  ${String(n).padStart(5)} tokens: ${perToken[n].toFixed(1).padStart(6)} µs per token-step${vs1k}   (${steps} steps: fastest ${r.min.toFixed(0)} ms, median ${r.median.toFixed(0)} ms; ${r.fired.toFixed(0)} latents fire per step)`);
  }
  const graph = await createOrtEngine({ hyper: h, w0: initWeights(h.dIn, h.nLatents, 0), threads: THREADS, step: 'graph' });
  const g = await timeEngine(graph, all.subarray(0, 1024 * h.dIn), 1024, 5);
  await graph.dispose();
  console.log(`   1024 tokens, the train graph instead of the kernels: ${((1000 * g.min) / 1024).toFixed(1)} µs per token-step`);
  console.log('  targets on 2 cores: 1k ≤ 100 µs per token-step, 8k ≤ 1.25 × 1k');
}

async function main() {
  if (process.argv.includes('--sweep')) return sweep();
  const createTfjs = loadTfjsEngine();
  let tfjsStepMs = 0; // workload S's tfjs step, to decide whether the 4× larger course preset is worth timing
  for (const w of WORKLOADS) {
    const h = w.hyper;
    const w0 = initWeights(h.dIn, h.nLatents, 0);
    const opts: EngineOptions = { hyper: h, w0, threads: THREADS };
    console.log(`\n${w.name}: ${w.n} tokens × ${h.dIn}, ${h.nLatents} latents, k ${h.k}, λ1 ${h.l1}, λc ${h.decor}, Adam, ${THREADS} threads`);
    for (const shared of [false, true]) {
      const engine = await createOrtEngine(opts);
      const r = await timeEngine(engine, activations(w.n, h.dIn, shared), w.n, EPOCHS);
      await engine.dispose();
      const data = shared ? 'shared-mean data' : 'normal data     ';
      console.log(`  ort ${engine.device}, ${data} ${fmt(r.mean)} ms/epoch  (${EPOCHS} epochs; median ${r.median.toFixed(1)}; ${r.fired.toFixed(0)} latents fire per step)`);
    }
    const x = activations(w.n, h.dIn, false);
    console.log(`  naive dense graph, normal data        ${fmt(await timeNaive(h, w0, x, w.n))} ms/epoch  (${NAIVE_STEPS} steps)`);

    if (!createTfjs) {
      console.log('  tfjs: skipped (src/core/sae/tfjsEngine.ts is absent)');
    } else if (tfjsStepMs * (h.dIn / 768) > TFJS_MAX_STEP_MS) {
      console.log(`  tfjs: skipped (one workload-S step took ${(tfjsStepMs / 1000).toFixed(1)} s; this preset is ~${h.dIn / 768}× the work)`);
    } else {
      const engine = await createTfjs(opts);
      const t0 = performance.now();
      await engine.step(x, w.n);
      const first = performance.now() - t0;
      if (first * EPOCHS > TFJS_BUDGET_MS) {
        tfjsStepMs ||= first;
        console.log(`  tfjs ${engine.device}, normal data ${fmt(first)} ms/epoch  (1 step timed, not ${EPOCHS}: ${EPOCHS} epochs ≈ ${((first * EPOCHS) / 60_000).toFixed(0)} min)`);
      } else {
        const r = await timeEngine(engine, x, w.n, EPOCHS);
        tfjsStepMs ||= r.mean;
        console.log(`  tfjs ${engine.device}, normal data ${fmt(r.mean)} ms/epoch  (${EPOCHS} epochs; median ${r.median.toFixed(1)})`);
      }
      await engine.dispose();
    }
    if (w.hyper.dIn === 768) console.log('  target for workload S on 2 cores: ≤ 40 ms/epoch');
  }
  await sweep();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
