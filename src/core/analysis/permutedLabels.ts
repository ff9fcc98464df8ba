import { Rng } from '../rng';
import type { BlockScheme } from './blockScheme';

/**
 * The concept labels of the tested tokens, permuted P times by the block scheme (blockScheme.ts),
 * stored once as bitsets and reused by every latent. Only the smaller class is stored (concept
 * tokens, or the others when concepts are the majority): bit p of token t's row is set when t carries
 * that class in permutation p. A latent then visits, per firing token, P/32 words and only the set
 * bits — about P·min(nC, nO)/n of them.
 */
export interface PermutedLabels {
  permutations: number;
  words: number; // ⌈P / 32⌉
  bits: Int32Array; // [T × words]
  /** True when the stored class is the concept class. */
  storesConcept: boolean;
}

/**
 * Each permutation is a uniform re-ordering of the scheme's blocks (Fisher–Yates with a seeded Rng,
 * each shuffle continuing from the last — every one is uniform); `nTokens` is the document length T.
 */
export function permuteLabels(scheme: BlockScheme, nTokens: number, permutations: number, seed: number): PermutedLabels {
  const { positions, labels, length: B, count, head } = scheme;
  const n = positions.length;
  let nConcept = 0;
  for (let i = 0; i < n; i++) nConcept += labels[i];
  const storesConcept = nConcept <= n - nConcept;
  const stored = storesConcept ? 1 : 0;
  const words = (permutations + 31) >>> 5;
  const bits = new Int32Array(nTokens * words);
  const order = Int32Array.from({ length: count }, (_, k) => k); // order[k]: the block whose labels slot k carries
  const end = head + count * B;
  const rng = new Rng(seed);
  for (let p = 0; p < permutations; p++) {
    rng.shuffle(order);
    const w = p >>> 5;
    const bit = 1 << (p & 31);
    for (let i = 0; i < n; i++) {
      const src = i < head || i >= end ? i : head + order[((i - head) / B) | 0] * B + ((i - head) % B);
      if (labels[src] === stored) bits[positions[i] * words + w] |= bit;
    }
  }
  return { permutations, words, bits, storesConcept };
}
