import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeCodes } from '../../../src/core/analysis/analyze';
import type { Lexicon } from '../../../src/core/analysis/lexicon';
import { ANALYSIS_VERSION } from '../../../src/core/analysis/types';
import { UserError } from '../../../src/core/errors';
import { FIXTURE, fixtureParts } from './runFixture';

const parts = fixtureParts(3);
const inputs = { tokens: parts.tokens.tokens, codes: parts.codes, nLatents: FIXTURE.latents };
const lexicon = (terms: string[]): Lexicon => ({ name: 'mine', rule: 'wholeWord', terms, source: 'mine.txt' });

/** Every number in the report is finite: no NaN or ±Infinity sneaks in (JSON would turn them into null). */
function allFinite(v: unknown, where = 'report'): void {
  if (typeof v === 'number') assert.ok(Number.isFinite(v), `${where} = ${v}`);
  else if (Array.isArray(v)) v.forEach((x, i) => allFinite(x, `${where}[${i}]`));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) allFinite(x, `${where}.${k}`);
}

test('the report: version, summary, per-latent table, per-token top latents, lists and heatmaps', () => {
  const r = analyzeCodes(inputs, { topPerToken: 3, top: 4 });
  assert.equal(r.version, ANALYSIS_VERSION);
  assert.equal(r.summary.nTokens, parts.tokens.tokens.length);
  assert.equal(r.summary.nLatents, FIXTURE.latents);
  assert.equal(r.latents.densityPct.length, FIXTURE.latents);
  assert.equal(r.perToken.latents.length, parts.tokens.tokens.length);
  assert.ok(r.perToken.latents.every((ls) => ls.length <= 3));
  assert.equal(r.perTokenExcludingAlwaysOn.latents.length, parts.tokens.tokens.length);
  const nearAlways = new Set(r.nearAlways);
  assert.ok(r.perTokenExcludingAlwaysOn.latents.every((ls) => ls.length <= 3 && ls.every((l) => !nearAlways.has(l))));
  assert.equal(r.conceptList[0].latent, FIXTURE.concept);
  assert.ok(r.conceptList.every((e) => e.q !== null && e.q <= r.options.alpha), 'only latents that pass');
  assert.equal(r.conceptCandidates.length, 4, 'the next best, not significant');
  assert.ok(r.conceptCandidates.every((e) => e.q === null || e.q > r.options.alpha));
  assert.equal(r.punctuationList[0].latent, FIXTURE.punct);
  const listed = new Set([...r.conceptList, ...r.conceptCandidates, ...r.punctuationList].map((e) => e.latent));
  assert.deepEqual(new Set(r.heatmaps.map((h) => h.latent)), listed, 'one heatmap per listed latent');
  assert.equal(r.concept.name, 'geography');
  assert.equal(r.concept.lexicon.name, 'gazetteer');
  assert.equal(r.concept.tokens.length, r.summary.conceptTokens);
  assert.equal(r.concept.effect, 'rank-biserial');
  assert.equal(r.concept.statistic, 'mean-difference');
  assert.equal(r.options.minSupport, 2);
  assert.deepEqual(r.concept.permutation && [r.concept.permutation.scheme, r.concept.permutation.length], ['blocks', 8]);
  const q = (e: { q: number | null }) => e.q ?? Infinity;
  assert.ok(r.conceptCandidates.every((e, i) => i === 0 || q(e) >= q(r.conceptCandidates[i - 1])), 'ranked by q');
  const defined = <T extends { p: number | null; q: number | null; effect: number | null; score: number | null; diff: number | null }>(e: T) => ({ ...e, p: 0, q: 0, effect: 0, score: 0, diff: 0 });
  allFinite({ ...r, latents: { ...r.latents, effect: [], p: [], q: [], score: [], diff: [] }, conceptList: r.conceptList.map(defined), conceptCandidates: r.conceptCandidates.map(defined) });
  const json = JSON.parse(JSON.stringify(r));
  assert.deepEqual(json, r, 'the report survives JSON unchanged');
});

test('empty lexicon: a clear message in the report, every score 0, no p-value, no division by zero', () => {
  const r = analyzeCodes(inputs, { concept: { name: 'rivers', lexicon: lexicon([]) } });
  const m = r.messages.find((x) => x.code === 'empty-lexicon');
  assert.ok(m, JSON.stringify(r.messages));
  assert.match(m.text, /lexicon "mine" \(mine\.txt\) of concept "rivers" has no terms/);
  assert.equal(r.summary.conceptTokens, 0);
  assert.equal(r.summary.tested, 0);
  assert.deepEqual(r.conceptList, []);
  assert.ok(r.latents.score.every((s) => s === 0));
  assert.ok(r.latents.p.every((p) => p === null));
  assert.deepEqual(r.conceptCandidates, []);
  assert.equal(r.concept.permutation, null);
  assert.ok(r.punctuationList.length > 0, 'the rest of the analysis still runs');
});

test('a concept with no matching token in the document: a clear message, not a division by zero', () => {
  const r = analyzeCodes(inputs, { concept: { name: 'rivers', lexicon: lexicon(['Danube', 'Tisza']) } });
  const m = r.messages.find((x) => x.code === 'no-concept-tokens');
  assert.ok(m, JSON.stringify(r.messages));
  assert.match(m.text, /No token of this document matches the lexicon "mine" \(mine\.txt\) \(2 terms\) of concept "rivers"/);
  assert.ok(r.latents.score.every((s) => s === 0));
  assert.deepEqual(r.concept.matchedTerms, []);
});

test('a contrast lexicon replaces "all other tokens"; one matching nothing is reported', () => {
  const r = analyzeCodes(inputs, { contrast: lexicon(['the', 'of', 'and']) });
  assert.ok(r.concept.contrast);
  assert.equal(r.concept.nOther, r.concept.contrast.tokens);
  assert.ok(r.concept.nOther > 0 && r.concept.nOther < r.summary.nTokens - r.summary.conceptTokens);
  const none = analyzeCodes(inputs, { contrast: lexicon(['zzzz']) });
  assert.ok(none.messages.some((x) => x.code === 'no-other-tokens' && /contrast lexicon "mine" matches no token/.test(x.text)));
});

test('warnings: few concept tokens, small document, few permutations, random weights', () => {
  const r = analyzeCodes({ ...inputs, run: { randomWeights: true } }, { concept: { name: 'geo', lexicon: lexicon(['Hungary']) }, permutations: 200 });
  const codes = r.messages.map((x) => x.code);
  for (const c of ['random-weights', 'few-permutations', 'small-document'] as const) assert.ok(codes.includes(c), c);
  if (r.summary.conceptTokens < 10) assert.ok(codes.includes('few-concept-tokens'));
});

test('a latent firing only on concept tokens: the lab\'s ratio is undefined (null), it is tested and listed, and the report says so', () => {
  const concept = new Set(analyzeCodes(inputs).concept.tokens);
  const T = inputs.tokens.length;
  // Latent 0 of a 2-latent code fires exactly on the concept tokens; latent 1 everywhere.
  const rowPtr = new Int32Array(T + 1);
  const index: number[] = [];
  const value: number[] = [];
  for (let t = 0; t < T; t++) {
    if (concept.has(t)) index.push(0), value.push(2);
    index.push(1), value.push(1);
    rowPtr[t + 1] = index.length;
  }
  const r = analyzeCodes({ tokens: inputs.tokens, codes: { rowPtr, index: Int32Array.from(index), value: Float32Array.from(value) }, nLatents: 2 });
  assert.equal(r.latents.score[0], null);
  assert.equal(r.latents.effect[0], 1);
  assert.ok(r.latents.diff[0]! > 1.9);
  assert.equal(r.conceptList[0]?.latent, 0, 'tested and listed');
  assert.equal(r.conceptList[0].score, null);
  assert.ok(r.conceptList[0].q! <= 0.01);
  const m = r.messages.find((x) => x.code === 'concept-only-latents');
  assert.ok(m);
  assert.match(m.text, /^1 tested latent fires only on concept tokens, so the lab's score .* is undefined for it: 0 \(support \d+, effect 1\.00, q [\d.e-]+\)\. It is tested like every other latent/);
});

test('bad input: mismatched shapes name the codes; bad options say what to pass', () => {
  const rowPtr = inputs.codes.rowPtr.slice(0, -1);
  assert.throws(
    () => analyzeCodes({ ...inputs, codes: { ...inputs.codes, rowPtr }, codesName: 'run/latents.safetensors' }),
    (e: unknown) => e instanceof UserError && /^run\/latents\.safetensors: row_ptr has \d+ entries, expected \d+/.test(e.message),
  );
  assert.throws(
    () => analyzeCodes({ ...inputs, nLatents: 4, codesName: 'run/latents.safetensors' }),
    (e: unknown) => e instanceof UserError && /^run\/latents\.safetensors: latent index \d+ is outside \[0, 4\)/.test(e.message),
  );
  const value = inputs.codes.value.slice();
  value[0] = NaN;
  assert.throws(() => analyzeCodes({ ...inputs, codes: { ...inputs.codes, value } }), /activation NaN .* is not finite/);
  assert.throws(() => analyzeCodes(inputs, { permutations: 0 }), /permutations must be an integer from 1/);
  assert.throws(() => analyzeCodes(inputs, { proxyThreshold: 2 }), /proxyThreshold must be a number from 0 to 1/);
  assert.throws(() => analyzeCodes(inputs, { minSupport: 0 }), /minSupport must be an integer from 1/);
  assert.throws(() => analyzeCodes(inputs, { minSupport: 1.5 }), /minSupport must be an integer from 1/);
  assert.throws(() => analyzeCodes({ ...inputs, tokens: [] }), /no tokens to analyse/);
});
