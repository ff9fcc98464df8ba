import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeCodes } from '../../../src/core/analysis/analyze';
import { unitColumns } from '../../../src/core/analysis/stability';
import { Rng } from '../../../src/core/rng';
import { saeConfig } from '../../../src/core/sae/config';
import { trainSae } from '../../../src/core/sae/train';
import { syntheticCodes, syntheticDoc, type Planted } from './synthetic';

/**
 * Ground truth on synthetic codes: background latents independent of the text, plus latents planted
 * on known tokens. A planted latent also fires weakly on a few other tokens, as a real Top-K latent
 * does (one that fires only on concept tokens scores 0 by the lab's definition; see analyze.ts).
 */
const L = 64;
const K = 8;
const doc = syntheticDoc(1, 500);
const T = doc.tokens.length;
const leak = new Rng(99);
const stray = Uint8Array.from({ length: T }, () => (leak.uniform() < 0.05 ? 1 : 0));

const CONCEPT = 5;
const PUNCT = 9;
const PROXY = 13;
const planted: Planted[] = [
  { latent: CONCEPT, on: (t) => doc.concept[t] === 1, level: 4 },
  { latent: CONCEPT, on: (t) => !doc.concept[t] && stray[t] === 1, level: 0.5 },
  { latent: PUNCT, on: (t) => doc.punctuation[t] === 1, level: 3 },
  { latent: PROXY, on: (t) => doc.concept[t] === 1, level: 3 },
  { latent: PROXY, on: (t) => doc.punctuation[t] === 1, level: 1.5 },
];
const report = analyzeCodes({ tokens: doc.tokens, codes: syntheticCodes(T, L, K, planted, 7), nLatents: L });

test('the synthetic document has enough concept and punctuation tokens to test', () => {
  assert.ok(report.summary.conceptTokens >= 30, `${report.summary.conceptTokens} concept tokens`);
  assert.ok(T > 500);
});

test('a direction planted on concept tokens ranks first, with p < 0.01 and q < 0.05', () => {
  const first = report.conceptList[0];
  assert.equal(first.latent, CONCEPT);
  assert.ok(first.p! < 0.01, `p ${first.p}`);
  assert.ok(first.q! < 0.05, `q ${first.q}`);
  assert.equal(first.support, report.summary.conceptTokens);
  assert.ok(first.effect! > 0.9, `effect ${first.effect}`);
  assert.equal(first.proxy, false, 'its mass is on concept tokens, not on punctuation or stopwords');
  assert.ok(first.topTokens.every((t) => doc.concept[t.token] === 1));
});

test('a direction planted on punctuation tokens heads the punctuation-firing list', () => {
  assert.equal(report.punctuationList[0].latent, PUNCT);
  assert.ok(report.punctuationList[0].punctuationShare > 0.9);
  assert.ok(!report.conceptList.slice(0, 3).some((e) => e.latent === PUNCT));
});

test('a latent planted on concept and punctuation tokens is listed as concept-selective and flagged proxy', () => {
  const e = report.conceptList.find((x) => x.latent === PROXY);
  assert.ok(e, 'listed among the top concept-selective latents');
  assert.ok(e.p! < 0.01);
  assert.ok(e.punctuationShare >= report.options.proxyThreshold, `punctuation share ${e.punctuationShare}`);
  assert.equal(e.proxy, true);
  assert.ok(report.summary.proxies >= 1);
});

test('pure noise: no latent is significant after Benjamini–Hochberg, and raw p ≤ 0.05 for at most 10 % of tested latents', () => {
  const seeds = [11, 12, 13, 14, 15, 16];
  let significant = 0;
  let below05 = 0;
  let tested = 0;
  for (const seed of seeds) {
    const d = syntheticDoc(seed, 400);
    const r = analyzeCodes({ tokens: d.tokens, codes: syntheticCodes(d.tokens.length, L, K, [], seed), nLatents: L }, { seed });
    significant += r.summary.significant;
    for (const p of r.latents.p) {
      if (p === null) continue;
      tested++;
      if (p <= 0.05) below05++;
    }
  }
  // Under the global null BH rejects anything with probability ≤ α = 0.05 per document.
  assert.ok(significant <= 1, `${significant} significant latents over ${seeds.length} noise documents`);
  const rate = below05 / tested;
  assert.ok(rate <= 0.1, `false-positive rate of raw p ≤ 0.05 is ${rate.toFixed(3)} over ${tested} tests`);
});

test('end to end: a Top-K SAE trained on activations with a direction planted on concept tokens finds it', async () => {
  const d = syntheticDoc(2, 400);
  const n = d.tokens.length;
  const dIn = 16;
  const nLatents = 32;
  const rng = new Rng(3);
  const dir = rng.fillNormal(new Float32Array(dIn), 1);
  const norm = Math.hypot(...dir);
  dir.forEach((v, i) => (dir[i] = v / norm));
  const x = new Float32Array(n * dIn);
  for (let t = 0; t < n; t++) for (let i = 0; i < dIn; i++) x[t * dIn + i] = 0.3 * rng.normal() + (d.concept[t] ? 3 * dir[i] : 0);
  const sae = await trainSae(x, n, dIn, { dIn, nLatents, k: 4 }, saeConfig({ lr: 1e-2, epochs: 100 }), { threads: 1 });
  const r = analyzeCodes({ tokens: d.tokens, codes: sae.codes, nLatents });
  const top = r.conceptList[0];
  assert.ok(top.p! < 0.01 && top.q! < 0.05, `p ${top.p}, q ${top.q}`);
  assert.ok(top.support >= 0.9 * r.summary.conceptTokens);
  const u = unitColumns(sae.w, dIn, nLatents);
  const cos = dir.reduce((acc, v, i) => acc + v * u[top.latent * dIn + i], 0);
  assert.ok(cos > 0.7, `the top latent's decoder direction has cosine ${cos.toFixed(3)} with the planted one`);
});
