import { Rng } from '../rng';

/**
 * The concept labels of the tested tokens, shuffled P times, stored once as bitsets and reused by
 * every latent. Only the smaller class is stored (concept tokens, or the others when concepts are
 * the majority): bit p of token t's row is set when t belongs to that class in permutation p. A latent
 * then visits, per firing token, P/32 words and only the set bits — about P·min(nC, nO)/n of them.
 */
export interface PermutedLabels {
  permutations: number;
  words: number; // ⌈P / 32⌉
  bits: Int32Array; // [T × words]
  /** True when the stored class is the concept class. */
  storesConcept: boolean;
}

/**
 * `group` [T]: 1 = concept, 0 = other, −1 = not in the test. Labels are shuffled among the tested
 * tokens only (Fisher–Yates with a seeded Rng, each shuffle continuing from the last — every one is a
 * uniform permutation), so every permutation keeps the concept count.
 */
export function permuteLabels(group: Int8Array, permutations: number, seed: number): PermutedLabels {
  const tested: number[] = [];
  let nConcept = 0;
  group.forEach((g, t) => {
    if (g >= 0) tested.push(t);
    if (g === 1) nConcept++;
  });
  const storesConcept = nConcept <= tested.length - nConcept;
  const stored = storesConcept ? 1 : 0;
  const labels = Uint8Array.from(tested, (t) => group[t]);
  const words = (permutations + 31) >>> 5;
  const bits = new Int32Array(group.length * words);
  const rng = new Rng(seed);
  for (let p = 0; p < permutations; p++) {
    rng.shuffle(labels);
    const w = p >>> 5;
    const bit = 1 << (p & 31);
    for (let i = 0; i < labels.length; i++) if (labels[i] === stored) bits[tested[i] * words + w] |= bit;
  }
  return { permutations, words, bits, storesConcept };
}
