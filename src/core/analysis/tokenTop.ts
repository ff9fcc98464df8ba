import type { SparseCodes } from '../sae/types';

/** The top `n` latents of every token by activation (largest first; fewer where fewer fire), among those with `eligible[l]` set (all when omitted). */
export interface TokenTopLatents {
  n: number;
  latents: number[][]; // [T][≤ n]
  values: number[][]; // [T][≤ n]
}

export function topLatentsPerToken(codes: SparseCodes, nTokens: number, n: number, eligible?: Uint8Array): TokenTopLatents {
  const { rowPtr, index, value } = codes;
  const latents: number[][] = new Array(nTokens);
  const values: number[][] = new Array(nTokens);
  for (let t = 0; t < nTokens; t++) {
    // Insertion into a sorted list of length ≤ n: rows hold k entries and n is small.
    const ls: number[] = [];
    const vs: number[] = [];
    for (let j = rowPtr[t]; j < rowPtr[t + 1]; j++) {
      const v = value[j];
      if (v === 0 || (vs.length === n && v <= vs[n - 1]) || (eligible && !eligible[index[j]])) continue;
      let at = vs.length;
      while (at > 0 && vs[at - 1] < v) at--;
      ls.splice(at, 0, index[j]);
      vs.splice(at, 0, v);
      if (vs.length > n) {
        ls.pop();
        vs.pop();
      }
    }
    latents[t] = ls;
    values[t] = vs;
  }
  return { n, latents, values };
}
