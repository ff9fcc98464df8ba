import { Rng } from '../src/core/rng';
import { encodeSae } from '../src/core/sae/encode';
import { tiedSae, type SaeModel } from '../src/core/sae/model';

/**
 * Encoding speed of applied SAEs on 1024 tokens of GPT-2-small-shaped activations (d_in 768,
 * N(0, 1)), 2 threads: a res-jb-shaped ReLU SAE (24576 latents, b_enc set for L0 ≈ 60 as the real
 * one has), an OpenAI-v5-shaped top-k 32 of 32768 with layer_norm, and the seed preset's tied top-k
 * 384 of 6144. Random weights: the speed, not the codes, is the point. Target on 2 cores: each ≤ 2 s.
 */
const T = 1024;
const D = 768;
const THREADS = 2;
const RUNS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function untied(rng: Rng, dSae: number, activation: SaeModel['activation'], normalization: SaeModel['normalization'], bias: number): SaeModel {
  return {
    dIn: D,
    dSae,
    wEnc: rng.fillNormal(new Float32Array(D * dSae), 1 / Math.sqrt(D)),
    bEnc: new Float32Array(dSae).fill(bias),
    wDec: rng.fillNormal(new Float32Array(dSae * D), 1 / Math.sqrt(dSae)),
    bDec: new Float32Array(D),
    activation,
    applyBDecToInput: true,
    normalization,
    tied: false,
    site: { hookName: 'blocks.6.hook_resid_pre', modelName: 'gpt2', prependBos: false, centred: false },
  };
}

async function main() {
  const rng = new Rng(0);
  const x = rng.fillNormal(new Float32Array(T * D), 1);
  const cases: [string, SaeModel][] = [
    ['ReLU, 24576 latents (res-jb shape)', untied(rng, 24576, { kind: 'relu' }, { kind: 'none' }, -2.55)],
    ['top-k 32 of 32768, layer_norm (OAI v5 shape)', untied(rng, 32768, { kind: 'topk', k: 32 }, { kind: 'layer_norm' }, 0)],
    ['tied top-k 384 of 6144 (seed preset)', tiedSae(rng.fillUniform(new Float32Array(D * 6144), -1 / Math.sqrt(D), 1 / Math.sqrt(D)), { dIn: D, nLatents: 6144, k: 384 }, { hookName: 'blocks.6.hook_mlp_out', modelName: 'gpt2' })],
  ];
  console.log(`${T} tokens × d_in ${D}, ${THREADS} threads, median of ${RUNS} after one warm-up`);
  for (const [name, m] of cases) {
    await encodeSae(m, x, T, { threads: THREADS });
    const ms: number[] = [];
    let l0 = 0;
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const r = await encodeSae(m, x, T, { threads: THREADS });
      ms.push(performance.now() - t0);
      l0 = r.codes.index.length / T;
    }
    console.log(`${name.padEnd(46)} ${median(ms).toFixed(0).padStart(6)} ms  (L0 ${l0.toFixed(1)}; runs ${ms.map((v) => v.toFixed(0)).join(', ')})   [target ≤ 2000]`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
