// The latent browser's dashboard (webview/detail.ts), the in-place detail, long lists, the legend and
// the causal evidence in the summary (webview/render.ts), on the fixture run and a hand-made evidence.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StabilityReport } from '../../src/core/analysis/stability';
import type { Evidence, LatentEvidence } from '../../src/core/evidence/types';
import type { BrowserState, RunView } from '../../src/shared/protocol';
import { NO_WORK } from '../../src/shared/work';
import { activationHistogram, contextRows, hurtMost, renderDetail } from '../../webview/detail';
import { detailPlacement, editorMessage, LIST_SHOWN, renderLegend, renderLexicon, renderLists, renderStatus, renderSummary, type PanelView } from '../../webview/render';
import type { VNode } from '../../webview/vnode';
import { all, byTestId, textOf } from '../fixtures/vnodes';
import { makeRunView } from '../fixtures/runView';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-detail-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let runs = 0;
const freshRun = (): RunView => makeRunView(path.join(tmp, `run${runs++}`));

function panel(run: RunView, over: Partial<PanelView> = {}, state: Partial<BrowserState> = {}): PanelView {
  return {
    state: { doc: { uri: 'file:///w/doc.md', name: 'doc.md', stale: false }, run, highlighted: null, lexicon: { kind: 'course' }, notices: [], work: NO_WORK, ...state },
    selected: null,
    selectedIn: null,
    detail: null,
    busy: null,
    error: null,
    collapsed: [],
    expanded: [],
    lexiconMode: 'course',
    customTerms: '',
    ...over,
  };
}


function latentEvidence(run: RunView, latent: number): LatentEvidence {
  const T = run.tokens.tokens.length;
  const perPosition = Array.from({ length: T - 1 }, (_, t) => (t === 3 ? 0.5 : t === 7 ? 0.25 : t === 9 ? -0.1 : 0));
  return {
    latent,
    logits: { top: [{ id: 1, token: ' Budapest', value: 1.5 }], bottom: [{ id: 2, token: ' fish', value: -0.75 }] },
    ablation: { meanDeltaLoss: 0.01, maxDeltaLoss: 0.5, perPosition, conceptNext: { positions: 10, meanDeltaLoss: 0.05 }, punctuationNext: { positions: 0, meanDeltaLoss: null }, firingTokens: 10 },
  };
}

function withEvidence(run: RunView, latents: number[]): RunView {
  const evidence: Evidence = {
    model: 'm',
    randomWeights: true,
    hookName: run.cfg.sae.hook_name,
    nTokens: run.tokens.tokens.length,
    windows: [{ start: 0, end: run.tokens.tokens.length, keepFrom: 0 }],
    perWindow: false,
    rule: 'r',
    fidelity: { ceClean: 3.25, ceSpliced: 3.5, ceZeroAblation: 5.25, ceRecovered: 0.875, fve: 0.8, positions: 49, perPosition: { clean: [], spliced: [], zeroAblation: [] } },
    latents: latents.map((l) => latentEvidence(run, l)),
    ms: 1234,
  };
  return { ...run, analysis: { ...run.analysis, evidence } };
}

test('activation histogram: equal bins over the non-zero activations, zeros counted apart', () => {
  assert.deepEqual(activationHistogram([0, 1, 2, 3, 5, 0], 4), { edges: [1, 2, 3, 4, 5], counts: [1, 1, 1, 1], zeros: 2 });
  assert.deepEqual(activationHistogram([0, 2, 2], 4), { edges: [2, 2], counts: [2], zeros: 1 });
  assert.deepEqual(activationHistogram([0, 0], 4), { edges: [], counts: [], zeros: 2 });
});

test('top activating tokens come with 5 tokens of context each side, on one line', () => {
  const tokens = ['a', 'b', '\n', 'c', 'D', 'e', 'f', 'g', 'h', 'i', 'j'].map((text, i) => ({ id: i, text, start: i, end: i + 1 }));
  const acts = tokens.map((t) => (t.text === 'D' ? 3 : t.text === 'a' ? 1 : 0));
  assert.deepEqual(contextRows(tokens, acts), [
    { token: 4, value: 3, left: 'ab↵c', text: 'D', right: 'efghi' },
    { token: 0, value: 1, left: '', text: 'a', right: 'b↵cDe' },
  ]);
});

test('hurts most: the positions whose loss rises most when the latent is ablated, with the token predicted', () => {
  const run = freshRun();
  const rows = hurtMost(run.tokens.tokens, latentEvidence(run, 0).ablation);
  assert.deepEqual(rows.map((r) => [r.position, r.delta, r.target]), [
    [3, 0.5, run.tokens.tokens[4].text],
    [7, 0.25, run.tokens.tokens[8].text],
  ]);
  assert.equal(rows[0].left, run.tokens.tokens.slice(0, 4).map((t) => t.text).join(''));
});

test('the dashboard: histogram, contexts, logit effects and the ablation once the evidence covers the latent', () => {
  const run = withEvidence(freshRun(), [0]);
  const acts = run.tokens.tokens.map((t) => (t.text === ' Hungary' ? 4 : t.text === ' and' ? 1 : 0));
  const d = renderDetail(run, panel(run, { selected: 0, detail: acts }))!;
  assert.equal(byTestId([d], 'activation-histogram').length, 1);
  assert.equal(byTestId([d], 'top-contexts').length, 1);
  assert.match(textOf(byTestId([d], 'logits')[0]), /promotes" Budapest"\+1\.5suppresses" fish"−0\.75/);
  const ablation = textOf(byTestId([d], 'ablation')[0]);
  assert.match(ablation, /mean ΔCE \+0\.01max ΔCE \+0\.5next token geography \+0\.05 over 10next token punctuation — \(no such position\)/);
  assert.match(textOf(byTestId([d], 'hurts-most')[0]), /\+0\.5.*\+0\.25/);
  assert.equal(byTestId([d], 'heatmap').length, 1);
});

test('the dashboard says where the evidence stands, and offers it for a latent it does not cover', () => {
  const plain = freshRun();
  const acts = plain.tokens.tokens.map(() => 0.5);
  const pending = renderDetail(plain, panel(plain, { selected: 2, detail: acts }, { work: { ...NO_WORK, evidence: 'computing causal evidence · 3 of 12 forward passes' } }))!;
  assert.match(textOf(byTestId([pending], 'evidence-pending')[0]), /Computing causal evidence/);
  const unavailable = { ...plain, analysis: { ...plain.analysis, evidence: { unavailable: 'the model moved.' } } };
  assert.match(textOf(renderDetail(unavailable, panel(unavailable, { selected: 2, detail: acts }))!), /No causal evidence for this run: the model moved\./);
  const run = withEvidence(plain, [0]);
  const uncovered = renderDetail(run, panel(run, { selected: 2, detail: acts }))!;
  const ask = byTestId([uncovered], 'latent-evidence')[0];
  assert.equal(ask.attrs['data-action'], 'latent-evidence');
  assert.equal(ask.attrs.disabled, undefined);
  const asking = renderDetail(run, panel(run, { selected: 2, detail: acts }, { work: { ...NO_WORK, latentEvidence: { latent: 2, line: 'ablating #2 · 1 of 4 forward passes' } } }))!;
  assert.match(textOf(byTestId([asking], 'latent-evidence-busy')[0]), /ablating #2/);
  assert.ok(all([asking]).some((n) => n.attrs['data-action'] === 'cancel-latentEvidence'));
});

test('a clicked latent opens in place, under its row in the list it was clicked in; a latent no open list shows opens at the top', () => {
  const run = freshRun();
  const lists = renderLists(run, panel(run, { selected: 1, selectedIn: 'punctuation' }));
  const punct = lists.find((n) => n.attrs['data-section'] === 'punctuation')!;
  const list = byTestId([punct], 'list-punctuation')[0];
  const kinds = list.children.map((c) => (c as VNode).attrs['data-testid']);
  assert.deepEqual(kinds, ['latent-row', 'detail-in-place'], 'the detail right under its row');
  assert.equal(byTestId(lists, 'latent-detail').length, 1, 'one detail');
  assert.equal(detailPlacement(run, panel(run, { selected: 1, selectedIn: 'punctuation' })), 'punctuation');
  assert.equal(detailPlacement(run, panel(run, { selected: 1, selectedIn: null })), 'punctuation', 'a reveal: where it first appears');
  assert.equal(detailPlacement(run, panel(run, { selected: 1, collapsed: ['punctuation'] })), null, 'its section folded: at the top');
  assert.equal(detailPlacement(run, panel(run, { selected: 5 })), null, 'in no list: at the top');
  assert.equal(detailPlacement(run, panel(run, { selected: 2 })), null, 'Always-on starts folded');
  assert.equal(detailPlacement(run, panel(run, { selected: 2, collapsed: ['open:always-on'] })), 'open:always-on');
});

test('long lists show their first rows and "Show all N"; the always-on list starts folded with its count', () => {
  const run = freshRun();
  const many = Array.from({ length: 25 }, (_, i) => ({ ...run.analysis.punctuationList[0], latent: i % 6 }));
  run.analysis.punctuationList = many;
  const lists = renderLists(run, panel(run));
  const punct = lists.find((n) => n.attrs['data-section'] === 'punctuation')!;
  assert.equal(byTestId([punct], 'latent-row').length, LIST_SHOWN);
  const more = byTestId([punct], 'show-all')[0];
  assert.match(textOf(more), /Show all 25/);
  assert.equal(more.attrs['data-list'], 'punctuation');
  const shown = renderLists(run, panel(run, { expanded: ['punctuation'] })).find((n) => n.attrs['data-section'] === 'punctuation')!;
  assert.equal(byTestId([shown], 'latent-row').length, 25);
  assert.equal(byTestId([shown], 'show-all').length, 0);
  const always = lists.find((n) => n.attrs['data-section'] === 'open:always-on')!;
  assert.equal(always.attrs.open, undefined, 'folded by default');
  assert.equal(always.attrs.description, String(run.analysis.alwaysOn.length));
});

test('the summary shows CE recovered beside FVE, the three CEs and the state of the evidence', () => {
  const plain = freshRun();
  const computing = textOf(renderSummary(plain, undefined, { collapsed: [], state: { work: { ...NO_WORK, evidence: 'computing causal evidence · 2 of 9 forward passes' } } }));
  assert.match(computing, /FVE0\.8CE recoveredcomputing…/);
  const run = withEvidence(plain, [0, 1]);
  const done = renderSummary(run, undefined, { collapsed: [] });
  assert.match(textOf(done), /FVE0\.8CE recovered0\.875CEclean 3\.25 · SAE 3\.5 · zero 5\.25/);
  assert.match(textOf(byTestId([done], 'evidence-done')[0]), /Causal evidence for 2 latents \(the first 10 of each list\), computed in 1\.2 s/);
  const none = { ...plain, analysis: { ...plain.analysis, evidence: { unavailable: 'no model recorded.' } } };
  assert.match(textOf(byTestId([renderSummary(none, undefined, { collapsed: [] })], 'evidence-unavailable')[0]), /no model recorded/);
});

test('work in the worker shows at the top with a Stop button', () => {
  const s = renderStatus({ busy: null, error: null, state: { work: { evidence: 'computing causal evidence · 3 of 9 forward passes', latentEvidence: null, stability: 'training seed 2 (1 of 4 more) · 12 %' } } });
  assert.match(textOf(byTestId([s], 'evidence-busy')[0]), /Causal evidence: computing causal evidence · 3 of 9/);
  assert.match(textOf(byTestId([s], 'stability-busy')[0]), /Stability: training seed 2/);
  assert.deepEqual(all([s]).map((n) => n.attrs['data-action']).filter(Boolean), ['cancel-evidence', 'cancel-stability']);
});

test('the legend names each hue and the strengths, with swatches of the four strengths', () => {
  const run = freshRun();
  const legend = renderLegend(run, { collapsed: [] });
  const text = textOf(byTestId([legend], 'legend')[0]);
  for (const s of ['Teal: geography-selective', 'Orange: punctuation-firing', 'Indigo: any other latent', 'Pink: the latent highlighted', '4 above 87 %']) assert.ok(text.includes(s), `${s} in ${text}`);
  assert.equal(all([legend]).filter((n) => /^swatch swatch-geography-\d$/.test(n.attrs.class ?? '')).length, 4);
});

test('no CLI commands or lab jargon in the analysis remarks the browser shows', () => {
  const run = freshRun();
  const shown = textOf(renderLexicon(run, panel(run)));
  assert.match(shown, /50 tokens is a small sample/);
  assert.match(shown, /"Check stability"/);
  assert.doesNotMatch(shown, /latent-lens |the lab/);
  assert.equal(editorMessage({ level: 'info', code: 'concept-only-latents', text: "so the lab's score (a ratio) is undefined" }, run), 'so the ratio score (a ratio) is undefined');
});

test('"Check stability" is a button; its result says which latents recur, and rows carry their recurrence', () => {
  const run = freshRun();
  const lists = renderLists(run, panel(run));
  const check = byTestId(lists, 'check-stability')[0];
  assert.equal(check.attrs['data-action'], 'check-stability');
  const running = byTestId(renderLists(run, panel(run, {}, { work: { ...NO_WORK, stability: 'training seed 1' } })), 'check-stability')[0];
  assert.equal(running.attrs.disabled, '');
  const latent = run.analysis.conceptList[0].latent;
  const stability: StabilityReport = {
    version: 2,
    threshold: 0.9,
    dIn: 4,
    nLatents: 6,
    seeds: [0, 1, 2],
    runs: [],
    concept: 'geography',
    latents: [{ latent, significant: true, score: 4, q: 0.01, recurrence: 0.5, matches: [{ seed: 1, latent: 3, cos: 0.95, recurs: true, score: 1, q: 0.2, listed: false }, { seed: 2, latent: 4, cos: 0.5, recurs: false, score: 1, q: 0.2, listed: false }] }],
    recurInAll: 0,
    perRun: [{ seed: 1, share: 1 }, { seed: 2, share: 0 }],
  };
  const withResult = renderLists(run, panel(run, {}, { stability }));
  assert.match(textOf(byTestId(withResult, 'stability-result')[0]), /0 of 1 compared latents recur in every other seed \(seeds 0, 1, 2/);
  assert.match(textOf(byTestId(withResult, 'latent-row')[0]), /recurs in 1\/2 seeds/);
});
