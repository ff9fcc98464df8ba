/**
 * Tokenizer speed on a 10,000-word document (the sample's words drawn with a seeded Rng). Warm runs
 * clear gpt-tokenizer's BPE merge cache first, so every word is merged anew as in a fresh document.
 * Target: well under 100 ms warm.
 * Run: node --import tsx bench/tokenize.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearMergeCache } from 'gpt-tokenizer/encoding/r50k_base';
import { Rng } from '../src/core/rng';
import { tokenize } from '../src/core/tokenizer';

function main(): void {
  const words = readFileSync(join(__dirname, '..', 'samples', 'palinka.md'), 'utf8').split(/\s+/).filter(Boolean);
  const rng = new Rng(0);
  const doc: string[] = [];
  for (let i = 0; i < 10_000; i++) doc.push(words[rng.int(words.length)] + (i % 97 === 96 ? '\n\n' : ' '));
  const text = doc.join('');

  let t0 = performance.now();
  const n = tokenize(text).length;
  const cold = performance.now() - t0;
  const warm: number[] = [];
  for (let r = 0; r < 5; r++) {
    clearMergeCache();
    t0 = performance.now();
    tokenize(text);
    warm.push(performance.now() - t0);
  }
  warm.sort((a, b) => a - b);
  console.log(`10000 words, ${text.length} UTF-16 units, ${n} tokens`);
  console.log(`first call (builds byte-length table): ${cold.toFixed(1)} ms; warm median of 5: ${warm[2].toFixed(1)} ms`);
}

main();
