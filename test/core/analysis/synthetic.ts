import { matchLexicon } from '../../../src/core/analysis/conceptMatch';
import { builtinLexicon, type Concept } from '../../../src/core/analysis/lexicon';
import { isPunctuation } from '../../../src/core/analysis/tokenClasses';
import { Rng } from '../../../src/core/rng';
import type { SparseCodes } from '../../../src/core/sae/types';
import { tokenize, type Token } from '../../../src/core/tokenizer';

/**
 * Synthetic documents and codes with known answers: real GPT-2 tokens of a generated text that mixes
 * filler words, gazetteer places and punctuation, and sparse codes whose background latents are
 * independent of the text, plus latents planted on chosen token sets.
 */
const FILLER = 'the a of and to in is was that it for on with as by at from this which were are be or an its their village fruit brandy spirit copper still harvest market winter farmers kitchen recipe barrel'.split(' ');
const PLACES = ['Hungary', 'Austria', 'Transylvania', 'Styria', 'Bohemia', 'Moravia', 'Czech Republic', 'Slovakia', 'Romania', 'Italy', 'Greece', 'Burgenland', 'Hungarian', 'European'];
const PUNCT = [',', '.', ' (', ')', ';', ' —', ':'];

export function syntheticText(seed: number, words: number): string {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    const r = rng.uniform();
    out.push(r < 0.08 ? ` ${PLACES[rng.int(PLACES.length)]}` : ` ${FILLER[rng.int(FILLER.length)]}`);
    if (rng.uniform() < 0.18) out.push(PUNCT[rng.int(PUNCT.length)]);
  }
  return out.join('').trim() + '.';
}

export interface Planted {
  /** Latent id → tokens where it fires (value drawn around `level`). */
  latent: number;
  on: (t: number) => boolean;
  level: number;
}

export interface SyntheticDoc {
  tokens: Token[];
  concept: Uint8Array; // [T] gazetteer matches
  punctuation: Uint8Array; // [T]
}

export function syntheticDoc(seed: number, words: number): SyntheticDoc {
  const tokens = tokenize(syntheticText(seed, words));
  return {
    tokens,
    concept: matchLexicon(tokens, builtinLexicon('gazetteer')).mask,
    punctuation: Uint8Array.from(tokens, (t) => (isPunctuation(t.text) ? 1 : 0)),
  };
}

/**
 * CSR codes [T, nLatents]: every token gets `k` background latents among the unplanted ones, chosen
 * uniformly with values Exp(1), independent of the text; each planted latent adds level·(1 + 0.1·N(0,1)).
 */
export function syntheticCodes(T: number, nLatents: number, k: number, planted: Planted[], seed: number): SparseCodes {
  const rng = new Rng(seed);
  const plantedIds = new Set(planted.map((p) => p.latent));
  const free = Array.from({ length: nLatents }, (_, i) => i).filter((i) => !plantedIds.has(i));
  const rowPtr = new Int32Array(T + 1);
  const index: number[] = [];
  const value: number[] = [];
  for (let t = 0; t < T; t++) {
    const row = new Map<number, number>();
    while (row.size < k) row.set(free[rng.int(free.length)], -Math.log(1 - rng.uniform()) + 1e-3);
    for (const p of planted) if (p.on(t)) row.set(p.latent, Math.max(1e-3, p.level * (1 + 0.1 * rng.normal())));
    for (const [l, v] of [...row].sort((a, b) => b[1] - a[1])) {
      index.push(l);
      value.push(v);
    }
    rowPtr[t + 1] = index.length;
  }
  return { rowPtr, index: Int32Array.from(index), value: Float32Array.from(value) };
}

/**
 * Autocorrelated codes with nothing planted, the null of the concept test on realistic structure:
 * each latent follows its own AR(1) process z_t = ρ·z_{t−1} + √(1 − ρ²)·ε_t and fires z_t − c_l
 * where z_t > c_l (thresholds c_l uniform in [0.5, 2.5], so densities from about 1 % to 30 %, in
 * bursts); concept tokens come in runs of 1–4 starting with probability 0.02 per token, independent
 * of the codes. `group` [T]: 1 concept, 0 other.
 */
export function ar1Codes(seed: number, T: number, nLatents: number, rho: number): { codes: SparseCodes; group: Int8Array } {
  const rng = new Rng(seed);
  const group = new Int8Array(T);
  for (let t = 0; t < T; t++) {
    if (rng.uniform() >= 0.02) continue;
    const len = 1 + rng.int(4);
    for (let i = 0; i < len && t + i < T; i++) group[t + i] = 1;
    t += len;
  }
  const z = Float64Array.from({ length: nLatents }, () => rng.normal());
  const cut = Float64Array.from({ length: nLatents }, () => rng.range(0.5, 2.5));
  const s = Math.sqrt(1 - rho * rho);
  const rowPtr = new Int32Array(T + 1);
  const index: number[] = [];
  const value: number[] = [];
  for (let t = 0; t < T; t++) {
    for (let l = 0; l < nLatents; l++) {
      z[l] = rho * z[l] + s * rng.normal();
      if (z[l] > cut[l]) {
        index.push(l);
        value.push(z[l] - cut[l]);
      }
    }
    rowPtr[t + 1] = index.length;
  }
  return { codes: { rowPtr, index: Int32Array.from(index), value: Float32Array.from(value) }, group };
}

/** Tokens that carry `group` [T] as text — " Hungary" on concept tokens, " the" elsewhere — and a lexicon that finds them. */
export function tokensFor(group: Int8Array): { tokens: Token[]; concept: Concept } {
  let at = 0;
  const tokens = Array.from(group, (g, i) => {
    const text = g === 1 ? ' Hungary' : ' the';
    at += text.length;
    return { id: i, text, start: at - text.length, end: at };
  });
  return { tokens, concept: { name: 'geography', lexicon: { name: 'one word', rule: 'wholeWord', terms: ['Hungary'], source: 'test' } } };
}
