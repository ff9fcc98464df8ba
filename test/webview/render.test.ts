import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserState, RunView } from '../../src/shared/protocol';
import { heatCells, renderDetail, topTokensOf } from '../../webview/detail';
import { fmt } from '../../webview/parts';
import { lexiconModeOf, renderEmpty, renderLexicon, renderLists, renderNotices, renderStatus, renderSummary, type PanelView } from '../../webview/render';
import { NO_WORK } from '../../src/shared/work';
import type { Child, VNode } from '../../webview/vnode';
import { all, byTestId, textOf } from '../fixtures/vnodes';
import { makeRunView, N_LATENTS } from '../fixtures/runView';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-render-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let runs = 0;
const freshRun = (): RunView => makeRunView(path.join(tmp, `run${runs++}`));

function panel(run: RunView | undefined, over: Partial<PanelView> = {}): PanelView {
  const state: BrowserState = {
    doc: run && { uri: 'file:///w/doc.md', name: 'doc.md', stale: false },
    run,
    highlighted: null,
    lexicon: { kind: 'course' },
    notices: [],
    work: NO_WORK,
  };
  return { state, selected: null, selectedIn: null, detail: null, busy: null, error: null, collapsed: [], expanded: [], lexiconMode: 'course', customTerms: '', ...over };
}

const textChildren = (nodes: Child[]): string[] => all(nodes).flatMap((n) => n.children.filter((c): c is string => typeof c === 'string'));

test('the empty state offers the train command', () => {
  const empty = renderEmpty();
  assert.equal(empty.attrs['data-testid'], 'empty-state');
  const button = all([empty]).find((n) => n.attrs['data-action'] === 'train');
  assert.match(textOf(button!), /Train SAE on this file/);
});

test('the summary shows the run facts and a loud RANDOM WEIGHTS badge for a random test model', () => {
  const run = freshRun();
  const v = panel(run);
  const summary = renderSummary(run, { ...v.state.doc!, stale: true }, v);
  const [box] = byTestId([summary], 'summary');
  const text = textOf(box);
  for (const s of ['Tokens50', 'Latents6', 'FVE0.8', 'L01.48', 'Layer density66.7 %', 'Dead33.3 % (2)', 'Always-on1', 'Engineort', 'Devicecpu']) assert.ok(text.includes(s), `${s} in ${text}`);
  assert.match(textOf(byTestId([summary], 'random-weights')[0]), /RANDOM WEIGHTS/);
  assert.equal(byTestId([summary], 'stale').length, 1);

  const real = { ...run, cfg: { ...run.cfg, model: { ...run.cfg.model, random_weights: false } }, analysis: { ...run.analysis, run: { ...run.analysis.run, randomWeights: false } } };
  assert.equal(byTestId([renderSummary(real, v.state.doc, v)], 'random-weights').length, 0);
});

test('lists carry their test ids, one row per latent, proxies shown and flagged, dead latents counted', () => {
  const run = freshRun();
  run.analysis.conceptList[0].proxy = true;
  const lists = renderLists(run, panel(run, { selected: 1 }));
  const geo = byTestId(lists, 'list-geography')[0];
  const rows = byTestId([geo], 'latent-row');
  assert.deepEqual(rows.map((r) => r.attrs['data-latent']), run.analysis.conceptList.map((e) => String(e.latent)));
  assert.match(textOf(rows[0]), /PROXY\?/);
  assert.match(textOf(rows[0]), /ratio 4/);
  assert.match(textOf(rows[0]), /" Hungary" ×2" Romania" ×2" Slovakia"/, 'distinct tokens it fires on, with counts');
  assert.deepEqual(byTestId(byTestId(lists, 'list-punctuation'), 'latent-row').map((r) => r.attrs['data-latent']), ['1']);
  assert.deepEqual(byTestId(byTestId(lists, 'list-always-on'), 'latent-row').map((r) => r.attrs['data-latent']), ['2']);
  assert.match(textOf(byTestId(lists, 'dead-count')[0]), /^2 dead latents/);
  const selected = all(lists).filter((n) => n.attrs.class === 'row selected');
  assert.deepEqual(selected.map((n) => n.attrs['data-latent']), ['1']);
});

test('the candidates: a section closed until opened, titled "Not significant", never badged selective; an undefined ratio reads "only on concept tokens"', () => {
  const run = freshRun();
  const { alpha } = run.analysis.options;
  const candidate = { ...run.analysis.conceptCandidates[0], score: null, q: 0.4 };
  run.analysis.conceptCandidates = [candidate, { ...candidate, latent: 4, p: null, q: null, support: 1 }];
  run.analysis.conceptList[0].score = null;
  const lists = renderLists(run, panel(run));
  const section = lists.find((n) => n.attrs['data-section'] === 'open:candidates')!;
  assert.equal(section.attrs.heading, 'Not significant');
  assert.equal(section.attrs.open, undefined, 'closed by default');
  const opened = renderLists(run, panel(run, { collapsed: ['open:candidates'] })).find((n) => n.attrs['data-section'] === 'open:candidates')!;
  assert.equal(opened.attrs.open, '', 'open once the user opened it');
  const rows = byTestId([section], 'latent-row');
  assert.deepEqual(rows.map((r) => r.attrs['data-latent']), [String(candidate.latent), '4']);
  assert.match(textOf(rows[0]), /not significant/);
  assert.match(textOf(rows[0]), /ratio only on geography tokens/);
  assert.match(textOf(rows[1]), /not tested \(support < 2\)/);
  for (const r of rows) {
    assert.doesNotMatch(textOf(r), /selective|q ≤/);
    assert.ok(!all([r]).some((n) => n.attrs.class === 'flag flag-concept'), 'no concept badge');
  }
  const geo = lists.find((n) => n.attrs['data-section'] === 'geography')!;
  assert.equal(geo.attrs.heading, 'Geography-selective');
  assert.match(textOf(byTestId([geo], 'latent-row')[0]), new RegExp(`ratio only on geography tokens.*q ≤ ${alpha}`));
  run.analysis.conceptList = [];
  const none = renderLists(run, panel(run)).find((n) => n.attrs['data-section'] === 'geography')!;
  assert.match(textOf(none), /No latent passes the concept test \(q ≤ 0\.05, support ≥ 2\)/);
});

test('the heatmap follows the lab: min–max scaling over all tokens, intensity = scaled²', () => {
  const tokens = ['a', 'b', 'c', 'd'].map((text, i) => ({ id: i, text, start: i, end: i + 1 }));
  const cells = heatCells(tokens, [0, 1, 2, 4]);
  assert.deepEqual(cells.map((c) => c.intensity), [0, 1 / 16, 1 / 4, 1]);
  assert.deepEqual(cells.map((c) => c.text), ['a', 'b', 'c', 'd']);
  assert.deepEqual(heatCells(tokens, [0, 0, 0, 0]).map((c) => c.intensity), [0, 0, 0, 0]);
  assert.deepEqual(topTokensOf(tokens, [0, 3, 3, 5], 2), [
    { token: 3, value: 5, text: 'd' },
    { token: 1, value: 3, text: 'b' },
  ]);
});

test('the latent detail waits for the activations, then shows the heatmap and top tokens', () => {
  const run = freshRun();
  assert.equal(renderDetail(run, panel(run)), null);
  assert.equal(renderDetail(run, panel(run, { selected: N_LATENTS })), null);
  const loading = renderDetail(run, panel(run, { selected: 0 }))!;
  assert.equal(byTestId([loading], 'heatmap').length, 0);
  assert.match(textOf(loading), /Reading its activations/);

  const T = run.tokens.tokens.length;
  const acts = run.tokens.tokens.map((t) => (t.text === ' Hungary' || t.text === ' Romania' ? 4 : t.text === ' and' ? 1 : 0));
  const detail = renderDetail(run, panel(run, { selected: 0, detail: acts }))!;
  const heat = byTestId([detail], 'heatmap')[0];
  assert.equal(textOf(heat), run.tokens.tokens.map((t) => t.text).join(''));
  const shaded = heat.children.filter((c): c is VNode => typeof c !== 'string');
  const want = run.tokens.tokens.flatMap((t, i) => (acts[i] === 4 ? [[t.text, '1.000']] : acts[i] === 1 ? [[t.text, '0.063']] : []));
  assert.deepEqual(want.slice(0, 3), [
    [' Hungary', '1.000'],
    [' and', '0.063'],
    [' Romania', '1.000'],
  ]);
  assert.deepEqual(shaded.map((n) => [textOf(n), n.style['--heat']]), want);
  assert.match(textOf(detail), /geography-selective/);
  assert.match(textOf(detail), /Top tokens " Hungary" ×2" Romania" ×2" and"/, 'distinct, largest first, then the more frequent');
  const contexts = byTestId([detail], 'top-contexts')[0];
  assert.deepEqual(
    contexts.children.map((r) => textOf((r as VNode).children[1] as VNode)).slice(0, 5),
    [' Hungary', ' Romania', ' Hungary', ' Romania', ' and'],
    'top activating tokens largest first, earlier tokens first on ties',
  );
  assert.ok(all([detail]).some((n) => n.attrs['data-action'] === 'highlight'));
  const lit = renderDetail(run, panel(run, { selected: 0, detail: acts, state: { ...panel(run).state, highlighted: 0 } }))!;
  assert.ok(all([lit]).some((n) => n.attrs['data-action'] === 'unhighlight'));
  assert.match(textOf(renderDetail(run, panel(run, { selected: 0, detail: acts.slice(1) }))!), /sent 49 activations for 50 tokens/);
  assert.equal(T, 50);
});

const TEXT_ATTRIBUTES = new Set(['title', 'heading', 'description', 'value', 'aria-label', 'placeholder']);

test('document text stays text: <script>, <img onerror>, markdown and command links never reach an attribute or markup', () => {
  const payloads = [
    '<script>alert(1)</script>',
    '<img src=x onerror="alert(2)">',
    '[click](command:workbench.action.terminal.new)',
    '<a href="command:latentLens.trainOnFile">x</a>',
  ];
  const run = freshRun();
  payloads.forEach((p, i) => (run.tokens.tokens[i].text = p));
  run.analysis.conceptList[0].topTokens[0].text = payloads[1];
  run.analysis.punctuationList[0].topTokens[0].text = payloads[0];
  run.analysis.concept.matchedTerms = [payloads[2]];
  run.analysis.messages.push({ level: 'warning', code: 'empty-lexicon', text: payloads[3] });
  const acts = run.tokens.tokens.map((_, i) => (i < payloads.length ? i + 1 : 0));
  const v = panel(run, {
    selected: 0,
    detail: acts,
    error: payloads[0],
    busy: payloads[1],
    lexiconMode: 'custom',
    customTerms: payloads[2],
    state: { ...panel(run).state, notices: [payloads[3]], doc: { uri: 'file:///x', name: payloads[1], stale: false }, lexicon: { kind: 'file', path: payloads[0] } },
  });
  const nodes: Child[] = [renderStatus(v), renderNotices(v.state), renderSummary(run, v.state.doc, v), renderLexicon(run, v), ...renderLists(run, v), renderDetail(run, v)!];

  for (const n of all(nodes)) {
    assert.match(n.tag, /^[a-z][a-z0-9-]*$/);
    assert.ok(!['script', 'img', 'a', 'iframe'].includes(n.tag), `<${n.tag}> rendered`);
    for (const [k, value] of Object.entries(n.attrs)) {
      assert.ok(!k.startsWith('on'), `attribute ${k}`);
      // setAttribute never parses markup; these are shown as plain text (a tooltip, Lit text bindings,
      // the textarea's value). Any other attribute (href, src, style, …) must never carry document text.
      if (TEXT_ATTRIBUTES.has(k)) continue;
      for (const p of payloads) assert.ok(!value.includes(p), `${p} in the attribute ${k} of <${n.tag}>`);
    }
  }
  const texts = textChildren(nodes);
  // The heatmap holds each token verbatim, as a text node; lists quote them (JSON), still as text.
  const heat = byTestId(nodes, 'heatmap')[0];
  for (const p of payloads) assert.ok(textChildren([heat]).includes(p), `${p} is a text node of the heatmap`);
  assert.ok(texts.includes(JSON.stringify(payloads[1])), 'a top token is a quoted text node');
  assert.ok(texts.some((t) => t.includes(payloads[3])), 'notices are text');
  assert.ok(texts.includes(payloads[0]), 'the error is text');
});

test('lexicon: the selector carries its test id, custom mode shows the word list, built-ins are options', () => {
  const run = freshRun();
  const builtin = renderLexicon(run, panel(run));
  const select = byTestId([builtin], 'lexicon-select')[0];
  assert.deepEqual(select.children.map((o) => (o as VNode).attrs.value), ['gazetteer', 'course', 'custom']);
  assert.equal((select.children[1] as VNode).attrs.selected, '');
  assert.equal(byTestId([builtin], 'lexicon-terms').length, 0);
  assert.match(textOf(builtin), /50 tokens is a small sample/, "the analysis's remarks");
  assert.doesNotMatch(textOf(builtin), /RANDOM weights/); // a notice of its own, not repeated here

  const custom = renderLexicon(run, panel(run, { lexiconMode: 'custom', customTerms: 'Danube', busy: 'Re-analysing…' }));
  const terms = byTestId([custom], 'lexicon-terms')[0];
  assert.equal(terms.attrs.value, 'Danube');
  assert.equal(terms.attrs.disabled, '');
  assert.equal(byTestId([custom], 'lexicon-select')[0].attrs.disabled, '');
  assert.equal(lexiconModeOf({ kind: 'file', path: '/x.txt' }), 'custom');
  assert.equal(lexiconModeOf({ kind: 'gazetteer' }), 'gazetteer');
});

test('status shows progress and errors; notices leave random weights to the summary badge', () => {
  const run = freshRun();
  const s = renderStatus({ busy: 'Re-analysing with the course words…', error: 'E' });
  assert.equal(byTestId([s], 'busy').length, 1);
  assert.equal(textOf(byTestId([s], 'error')[0]), 'E');
  assert.ok(all([s]).some((n) => n.attrs['data-action'] === 'dismiss-error'));
  assert.equal(all([renderStatus({ busy: null, error: null })]).length, 1);

  const random = run.analysis.messages.find((m) => m.code === 'random-weights')!.text;
  const notices = renderNotices({ ...panel(run).state, notices: ['Restricted Mode: …', random] });
  assert.equal(textOf(notices).trim(), 'Restricted Mode: …');
  assert.match(textOf(renderNotices({ ...panel(undefined).state, notices: [random] })), /RANDOM weights/);
});

test('numbers read well', () => {
  assert.equal(fmt(null), '—');
  assert.equal(fmt(0), '0');
  assert.equal(fmt(0.123456), '0.123');
  assert.equal(fmt(0.0001234), '1.23e-4');
  assert.equal(fmt(12.3456), '12.3');
  assert.equal(fmt(0.0199005, 2), '0.02');
});
