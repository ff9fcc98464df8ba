import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeCodes } from '../../../src/core/analysis/analyze';
import { toColumns } from '../../../src/core/analysis/columns';
import { conceptSelectivity } from '../../../src/core/analysis/selectivity';
import { unitColumns } from '../../../src/core/analysis/stability';
import { Rng } from '../../../src/core/rng';
import { saeConfig } from '../../../src/core/sae/config';
import { trainSae } from '../../../src/core/sae/train';
import { ar1Codes, syntheticCodes, syntheticDoc, tokensFor, type Planted } from './synthetic';

/**
 * Ground truth on synthetic codes: background latents independent of the text, plus latents planted
 * on known tokens. A planted latent also fires weakly on a few other tokens, as a real Top-K latent
 * does; one fires on concept tokens only (the lab's ratio is undefined for it); sparse distractors fire
 * on one or two concept tokens with huge values, which maximises the lab's ratio but is no evidence.
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
const ONLY = 17;
const ONCE = 21;
const TWICE = 25;
const conceptAt = Array.from({ length: T }, (_, t) => t).filter((t) => doc.concept[t] === 1);
const planted: Planted[] = [
  { latent: ONLY, on: (t) => doc.concept[t] === 1 && stray[t] === 0 && t % 3 !== 0, level: 3 },
  { latent: ONCE, on: (t) => t === conceptAt[3], level: 40 },
  { latent: ONCE, on: (t) => !doc.concept[t] && stray[t] === 1, level: 0.5 },
  { latent: TWICE, on: (t) => t === conceptAt[5] || t === conceptAt[9], level: 40 },
  { latent: TWICE, on: (t) => !doc.concept[t] && stray[t] === 1, level: 0.5 },
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

test('a direction planted on concept tokens ranks first, with p < 0.01 and q ≤ 0.01', () => {
  const first = report.conceptList[0];
  assert.equal(first.latent, CONCEPT);
  assert.ok(first.p! < 0.01, `p ${first.p}`);
  assert.ok(first.q! < 0.05, `q ${first.q}`);
  assert.ok(first.q! <= 0.01, `q ${first.q} with the default permutation budget`);
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

test('only passing latents are listed, by q then effect; the rest are candidates, not significant', () => {
  const { alpha, minSupport } = report.options;
  assert.ok(report.conceptList.length >= 3);
  for (const e of report.conceptList) assert.ok(e.q !== null && e.q <= alpha && e.support >= minSupport, `#${e.latent} passes`);
  for (const e of report.conceptCandidates) assert.ok(e.q === null || e.q > alpha, `#${e.latent} does not pass`);
  const byEvidence = (a: (typeof report.conceptList)[0], b: (typeof report.conceptList)[0]) => (a.q ?? Infinity) - (b.q ?? Infinity) || (b.effect ?? -Infinity) - (a.effect ?? -Infinity) || a.latent - b.latent;
  for (const list of [report.conceptList, report.conceptCandidates]) {
    for (let i = 1; i < list.length; i++) assert.ok(byEvidence(list[i - 1], list[i]) <= 0, `#${list[i - 1].latent} before #${list[i].latent}`);
  }
  const firstUntested = report.conceptCandidates.findIndex((e) => e.q === null);
  if (firstUntested >= 0) assert.ok(report.conceptCandidates.slice(firstUntested).every((e) => e.q === null), 'tested candidates before untested ones');
  assert.equal(report.summary.significant, report.latents.q.filter((q) => q !== null && q <= alpha).length);
  assert.equal(report.summary.tested, report.latents.support.filter((n) => n >= minSupport).length);
});

test('a latent firing on concept tokens only is tested and listed, its ratio undefined ("only on concept tokens")', () => {
  const e = report.conceptList.find((x) => x.latent === ONLY);
  assert.ok(e, JSON.stringify(report.conceptList.map((x) => x.latent)));
  assert.equal(e.score, null);
  assert.equal(report.latents.score[ONLY], null);
  assert.ok(e.q! <= 0.01 && e.effect! > 0.5, `q ${e.q}, effect ${e.effect}`);
  assert.ok(e.diff! > 0);
  assert.ok(report.messages.some((m) => m.code === 'concept-only-latents' && m.text.includes(`${ONLY} (support ${e.support}`)));
});

test('sparse distractors (one or two concept tokens with a huge value) top the lab\'s ratio but are not listed', () => {
  const listed = new Set(report.conceptList.map((e) => e.latent));
  assert.ok(!listed.has(ONCE) && !listed.has(TWICE));
  const ratio = report.latents.score.map((x, l) => ({ l, x: x ?? -1 })).sort((a, b) => b.x - a.x).slice(0, 2).map((e) => e.l);
  assert.deepEqual(new Set(ratio), new Set([ONCE, TWICE]), 'the lab\'s ratio ranks them first');
  assert.equal(report.latents.support[ONCE], 1);
  assert.equal(report.latents.p[ONCE], null, 'support 1 < minSupport: not tested');
  assert.equal(report.latents.support[TWICE], 2);
  assert.ok(report.latents.q[TWICE]! > report.options.alpha, `q ${report.latents.q[TWICE]}`);
  const candidates = new Set(report.conceptCandidates.map((e) => e.latent));
  assert.ok(candidates.has(ONCE) || candidates.has(TWICE), 'shown among the candidates, not significant');
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

test('autocorrelated null (AR(1) codes, concept tokens in runs): block permutations keep false positives at α, a token-by-token shuffle does not', () => {
  const nLatents = 120;
  let tested = 0;
  let below = 0;
  let belowShuffled = 0;
  let docsWithRejection = 0;
  for (const seed of [31, 32, 33, 34, 35, 36]) {
    const { codes, group } = ar1Codes(seed, 800, nLatents, 0.9);
    const cols = toColumns(codes, 800, nLatents);
    const plan = { permutations: 1000, alpha: 0.05, seed, minSupport: 2 };
    const blocks = conceptSelectivity(cols, group, plan);
    const shuffled = conceptSelectivity(cols, group, { ...plan, blockLength: 1 });
    assert.ok(blocks.scheme!.length > 8, `block length ${blocks.scheme!.length} from the autocorrelation ${blocks.scheme!.autocorrelation}`);
    for (let l = 0; l < nLatents; l++) {
      if (Number.isNaN(blocks.p[l])) continue;
      tested++;
      if (blocks.p[l] <= 0.05) below++;
      if (shuffled.p[l] <= 0.05) belowShuffled++;
    }
    if (blocks.q.some((q) => q <= 0.05)) docsWithRejection++;
  }
  assert.ok(below / tested <= 0.08, `raw p ≤ 0.05 for ${(below / tested).toFixed(3)} of ${tested} null latents`);
  assert.ok(docsWithRejection <= 1, `${docsWithRejection} of 6 null documents with a significant latent (BH: ≤ α each)`);
  assert.ok(belowShuffled / tested > 0.08, `token by token the rate is ${(belowShuffled / tested).toFixed(3)}: the runs and the autocorrelation matter`);
});

test('among 1500 autocorrelated latents a planted strong detector reaches q ≤ 0.01 with the default budget and heads the list; sparse distractors do not pass', () => {
  const T = 1000;
  const nLatents = 1500;
  const { codes, group } = ar1Codes(41, T, nLatents, 0.8);
  const DETECTOR = 700;
  const ONE = 701;
  const TWO = 702;
  const THREE = 703;
  const concepts = Array.from({ length: T }, (_, t) => t).filter((t) => group[t] === 1);
  const rows: [number, number][][] = Array.from({ length: T }, (_, t) => {
    const row: [number, number][] = [];
    for (let j = codes.rowPtr[t]; j < codes.rowPtr[t + 1]; j++) if (codes.index[j] < DETECTOR || codes.index[j] > THREE) row.push([codes.index[j], codes.value[j]]);
    return row;
  });
  for (const t of concepts) rows[t].push([DETECTOR, 3 + (t % 5) / 10]);
  for (let t = 0; t < T; t += 37) if (!group[t]) rows[t].push([DETECTOR, 0.3], [ONE, 0.2], [TWO, 0.2], [THREE, 0.2]);
  rows[concepts[0]].push([ONE, 80]);
  // TWO: both tokens of one concept run; THREE: three concept tokens far apart.
  const run = concepts.find((t, i) => concepts[i + 1] === t + 1)!;
  rows[run].push([TWO, 80]);
  rows[run + 1].push([TWO, 80]);
  for (const i of [2, Math.floor(concepts.length / 2), concepts.length - 1]) rows[concepts[i]].push([THREE, 80]);
  const planted = { rowPtr: new Int32Array(T + 1), index: [] as number[], value: [] as number[] };
  rows.forEach((row, t) => {
    for (const [l, v] of row.sort((a, b) => b[1] - a[1])) planted.index.push(l), planted.value.push(v);
    planted.rowPtr[t + 1] = planted.index.length;
  });
  const { tokens, concept } = tokensFor(group);
  const r = analyzeCodes({ tokens, codes: { rowPtr: planted.rowPtr, index: Int32Array.from(planted.index), value: Float32Array.from(planted.value) }, nLatents }, { concept });
  assert.ok(r.summary.tested > 500, `m = ${r.summary.tested}`);
  const first = r.conceptList[0];
  assert.equal(first.latent, DETECTOR);
  assert.ok(first.q! <= 0.01, `q ${first.q} (cap ${r.options.maxPermutations})`);
  const listed = new Set(r.conceptList.map((e) => e.latent));
  for (const l of [ONE, TWO, THREE]) assert.ok(!listed.has(l), `distractor #${l} (support ${r.latents.support[l]}, q ${r.latents.q[l]}) is not listed`);
  assert.ok(r.latents.score[ONE]! > r.latents.score[DETECTOR]!, 'the lab\'s ratio prefers the distractor');
  assert.ok(r.conceptList.length <= 1 + 2, `nothing else passes but by chance: ${r.conceptList.map((e) => e.latent)}`);
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
