import * as fs from 'node:fs';
import * as path from 'node:path';
import { classifyTokens } from '../src/core/analysis/tokenClasses';
import { computeEvidence } from '../src/core/evidence/evidence';
import type { SaeDecoder } from '../src/core/evidence/types';
import { checkFinite, loadModel, WEIGHTS_FILE } from '../src/core/model/load';
import { makeTestModel } from '../src/core/model/testModel';
import { GPT2_SMALL_SHAPE } from '../src/core/model/fallback';
import { Rng } from '../src/core/rng';
import type { SparseCodes } from '../src/core/sae/types';
import { tokenize } from '../src/core/tokenizer';

/**
 * Causal-evidence speed on a random model with GPT-2-small shapes (cached in .cache/bench-gpt2-small/,
 * shared with bench:extract): fidelity (clean, spliced, zero-ablated CE) + 20 latent ablations + their
 * logit effects at blocks.6.hook_mlp_out, 2 threads. The SAE is synthetic with the seed preset's
 * shapes (6144 latents, k 384 on every token, W_dec rows of norm 1); the 20 ablated latents fire on
 * every token, the worst case (a latent silent in a window is not run there). Target on 2 cores,
 * 220 tokens: ≤ 5 s. Also 512 and 1024 tokens, to show how the cost grows.
 */
const DIR = path.join(__dirname, '..', '.cache', 'bench-gpt2-small');
const HOOK = 'blocks.6.hook_mlp_out';
const THREADS = 2;
const LATENTS = 20;
const N_SAE = 6144;
const K = 384;
const SIZES = [220, 512, 1024];
const RUNS = Number(process.env.RUNS ?? 2);

function syntheticSae(T: number, dIn: number, seed: number): { decoder: SaeDecoder; codes: SparseCodes } {
  const rng = new Rng(seed);
  const wDec = rng.fillNormal(new Float32Array(N_SAE * dIn), 1 / Math.sqrt(dIn));
  const rowPtr = new Int32Array(T + 1);
  const index = new Int32Array(T * K);
  const value = new Float32Array(T * K);
  for (let t = 0; t < T; t++) {
    const picked = new Set<number>(Array.from({ length: LATENTS }, (_, i) => i));
    while (picked.size < K) picked.add(Math.floor(rng.uniform() * N_SAE));
    [...picked].forEach((l, j) => {
      index[t * K + j] = l;
      value[t * K + j] = 0.05 * -Math.log(1 - rng.uniform());
    });
    rowPtr[t + 1] = (t + 1) * K;
  }
  const raw = { normalization: { kind: 'none' }, applyBDecToInput: true, site: { prependBos: false, centred: false } } as const;
  return { decoder: { dSae: N_SAE, dIn, wDec, bDec: new Float32Array(dIn), ...raw }, codes: { rowPtr, index, value } };
}

async function main() {
  if (!fs.existsSync(path.join(DIR, WEIGHTS_FILE))) {
    const t = performance.now();
    makeTestModel({ out: DIR, ...GPT2_SMALL_SHAPE, seed: 0, vocab: 50257 });
    console.log(`made random GPT-2-small-shaped model in ${DIR} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  const model = loadModel(DIR);
  checkFinite(model);
  const sample = fs.readFileSync(path.join(__dirname, '..', 'samples', 'palinka.md'), 'utf8');
  let text = sample;
  while (tokenize(text).length < Math.max(...SIZES)) text += '\n\n' + sample;
  const all = tokenize(text);
  const latents = Array.from({ length: LATENTS }, (_, i) => i);
  const batchRows = process.env.BATCH_ROWS ? Number(process.env.BATCH_ROWS) : undefined;
  console.log(`model: ${model.label}; ${THREADS} threads; hook ${HOOK}; SAE ${N_SAE} latents, k ${K}; fidelity + ${LATENTS} ablations + logit effects${batchRows ? `; batch rows ${batchRows}` : ''}`);

  let cold = true;
  for (const T of SIZES) {
    const tokens = all.slice(0, T);
    const { decoder, codes } = syntheticSae(T, model.config.nEmbd, 1);
    const punct = classifyTokens(tokens).punctuation;
    const inputs = { model, hookName: HOOK, tokens, decoder, codes, groups: { concept: new Uint8Array(T), punctuation: punct } };
    const ms: number[] = [];
    const cpu: number[] = [];
    const runs = RUNS + (cold ? 1 : 0);
    for (let r = 0; r < runs; r++) {
      const c0 = process.cpuUsage();
      const e = await computeEvidence(inputs, latents, { threads: THREADS, batchRows });
      const c = process.cpuUsage(c0);
      if (cold) {
        console.log(`cold (sessions created + first ${T}-token run): ${e.ms.toFixed(0)} ms; CE clean ${e.fidelity.ceClean}, spliced ${e.fidelity.ceSpliced}, zero ${e.fidelity.ceZeroAblation}`);
        cold = false;
      } else {
        ms.push(e.ms);
        cpu.push((c.user + c.system) / 1000);
      }
    }
    const best = Math.min(...ms);
    const passes = 3 + LATENTS;
    const target = T === 220 ? '   [target ≤ 5000]' : '';
    console.log(
      `warm ${String(T).padStart(4)} tokens: best ${best.toFixed(0)} ms (runs: ${ms.map((m) => m.toFixed(0)).join(', ')}; process CPU ${cpu.map((m) => m.toFixed(0)).join(', ')} ms); ${(best / (passes * T)).toFixed(3)} ms per token-pass${target}`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
