import * as fs from 'node:fs';
import * as path from 'node:path';
import { extractActivations } from '../src/core/extract';
import { checkFinite, loadModel, WEIGHTS_FILE } from '../src/core/model/load';
import { makeTestModel } from '../src/core/model/testModel';
import { tokenize } from '../src/core/tokenizer';

/**
 * Extraction speed on a random model with GPT-2-small shapes (cached in .cache/bench-gpt2-small/):
 * cold load (model load + session creation + first run, 220 tokens) and warm extraction for 220 and
 * 1024 tokens, 2 threads, hook blocks.6.hook_mlp_out. Targets on 2 cores: cold ≤ 3 s, 1024 warm ≤ 1.5 s.
 */
const DIR = path.join(__dirname, '..', '.cache', 'bench-gpt2-small');
const HOOK = 'blocks.6.hook_mlp_out';
const THREADS = 2;
const WARM_RUNS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  if (!fs.existsSync(path.join(DIR, WEIGHTS_FILE))) {
    const t = performance.now();
    makeTestModel({ out: DIR, layers: 12, dModel: 768, heads: 12, seed: 0, vocab: 50257, positions: 1024 });
    console.log(`made random GPT-2-small-shaped model in ${DIR} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  const sample = fs.readFileSync(path.join(__dirname, '..', 'samples', 'palinka.md'), 'utf8');
  let text = sample;
  while (tokenize(text).length < 1024) text += '\n\n' + sample;
  const all = tokenize(text);

  const t0 = performance.now();
  const model = loadModel(DIR);
  checkFinite(model);
  const first = await extractActivations(all.slice(0, 220), model, [HOOK], { threads: THREADS });
  const cold = performance.now() - t0;
  console.log(`model: ${model.label}; provider ${first.provider}; ${THREADS} threads; hook ${HOOK}`);
  console.log(`cold load (load + session + first 220-token run): ${cold.toFixed(0)} ms   [target ≤ 3000]`);

  for (const n of [220, 1024]) {
    const tokens = all.slice(0, n);
    const ms: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) ms.push((await extractActivations(tokens, model, [HOOK], { threads: THREADS })).ms);
    const target = n === 1024 ? '   [target ≤ 1500]' : '';
    console.log(`warm ${String(n).padStart(4)} tokens: median ${median(ms).toFixed(0)} ms (runs: ${ms.map((m) => m.toFixed(0)).join(', ')})${target}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
