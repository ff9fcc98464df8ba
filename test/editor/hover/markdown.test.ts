import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LatentFacts } from '../../../src/shared/runFacts';
import { commandLink, hoverMarkdown, type HoverInput } from '../../../src/editor/hover/markdown';

// CommonMark with raw HTML and linkify on (markdown-it, a devDependency): the most permissive reading.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const MarkdownIt: new (o: { html: boolean; linkify: boolean }) => { render(src: string): string } = require('markdown-it');
const md = new MarkdownIt({ html: true, linkify: true });

const facts = (latent: number): LatentFacts =>
  latent === 7
    ? { latent, densityPct: 4.5, concept: { score: 3.2, p: 0.004, q: 0.02, support: 5, significant: true }, punctuationShare: 0.6, flags: ['concept', 'proxy', 'punctuation'] }
    : latent === 8
      ? { latent, densityPct: 1, concept: { score: null, p: 0.3, q: 0.9, support: 2, significant: false }, punctuationShare: 0, flags: [] }
      : { latent, densityPct: 100, punctuationShare: 0, flags: ['always-on'] };

function input(over: Partial<HoverInput> = {}): HoverInput {
  return {
    uri: 'file:///doc.md',
    tokenText: ' Hungary',
    tokenIndex: 4,
    nTokens: 220,
    top: [
      { latent: 7, value: 4.25 },
      { latent: 2, value: 0.5 },
    ],
    facts,
    promotes: (latent) => (latent === 7 ? { tokens: [' Budapest', ' Danube', ' Hungarian', ' Buda'] } : 'not computed'),
    model: 'gpt2',
    randomWeights: false,
    hook: 'blocks.6.hook_mlp_out',
    conceptName: 'geography',
    stale: false,
    tint: 'Tint: #7 at 92 % of its document max (the highest of its 2 strongest latents, each against its own max; always-on and near-always latents skipped)',
    ...over,
  };
}

test('lists the token, each top latent in one compact row with its facts, promoted tokens and two icon links, under a legend', () => {
  const md = hoverMarkdown(input());
  assert.match(md, /^\*\*·Hungary\*\* · token 5 of 220/);
  assert.match(md, /\| #7 \| 4\.25 \| 4\.5 % \| 3\.2 \(q 0\.02\) \| selective\\, proxy\\\?\\, punct\\\. \| ·Budapest ·Danube ·Hungarian \| \[\$\(eye\)\]/);
  assert.match(md, /\| #2 \| 0\.5 \| 100 % \| — \| always on \| — \|/);
  const html = new MarkdownIt({ html: true, linkify: true }).render(md);
  assert.ok(html.includes('<p>Tint: #7 at 92 % of its document max (the highest of its 2 strongest latents, each against its own max; always-on and near-always latents skipped)</p>'), 'which latent set the tint, and why');
  assert.match(html, /<em>act\.: activation · dens\.: % of tokens it fires on · geography: mean on geography tokens ÷ elsewhere, q ≤ 0\.05 passes the test · promotes: tokens its direction raises most · ·: a space · blocks\.6\.hook_mlp_out of gpt2<\/em>/, 'a one-line legend of the columns');
  const links = [...md.matchAll(/\]\(command:([\w.]+)\?([^ )]+) "([^"]+)"/g)].map((m) => [m[1], JSON.parse(decodeURIComponent(m[2])), m[3]]);
  assert.deepEqual(links, [
    ['latentLens.highlightLatent', [{ latent: 7, uri: 'file:///doc.md' }], 'Highlight #7 in the editor'],
    ['latentLens.showLatent', [{ latent: 7, uri: 'file:///doc.md' }], 'Show #7 in the Latent Browser'],
    ['latentLens.highlightLatent', [{ latent: 2, uri: 'file:///doc.md' }], 'Highlight #2 in the editor'],
    ['latentLens.showLatent', [{ latent: 2, uri: 'file:///doc.md' }], 'Show #2 in the Latent Browser'],
  ]);
});

test('promoted tokens: while computing, when the evidence omits them, and when it does not cover the latent', () => {
  const row = (p: HoverInput['promotes']) => hoverMarkdown(input({ top: [{ latent: 7, value: 1 }], promotes: p })).split('\n').find((l) => l.startsWith('| #7'))!;
  assert.match(row(() => 'computing'), /\| … \|/);
  assert.match(row(() => ({ omitted: 'no linear path' })), /\| n\/a \|/);
  assert.match(row(() => 'not computed'), /\| — \| \[/);
  assert.match(row(() => ({ tokens: ['$(trash)', null] })), /\| &#36;\\\(trash\\\) \? \|/, 'document-like text stays text; an id beyond the vocabulary is ?');
});

test('document text cannot add links, HTML or commands to the hover', () => {
  for (const hostile of ['[x](command:workbench.action.files.delete)', '<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '**b** `c` <https://e.com>']) {
    const html = md.render(hoverMarkdown(input({ tokenText: hostile })));
    assert.ok(!/<(script|img)/i.test(html), html);
    const hrefs = [...html.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1]);
    assert.equal(hrefs.length, 4, `only the four latent links in ${html}`);
    assert.ok(hrefs.every((h) => /^command:latentLens\.(showLatent|highlightLatent)\?/.test(h)));
  }
});

test('random weights (said once) and a stale run are said; no latent firing is said', () => {
  const md = hoverMarkdown(input({ randomWeights: true, model: 'random test model (seed 0) — RANDOM WEIGHTS', stale: true, top: [] }));
  assert.match(md, /^\*\*·Hungary\*\* · token 5 of 220 · ⚠ RANDOM WEIGHTS \(random test model \\\(seed 0\\\), not GPT-2\) · ⚠ edited since this run: retrain to update$/m);
  assert.equal(md.match(/RANDOM WEIGHTS/g)?.length, 1, 'one random-weights notice');
  assert.match(md, /No latent fires on this token/);
});

test('a latent that is not significant gets no selective flag; an undefined ratio reads "only there"', () => {
  const md = hoverMarkdown(input({ top: [{ latent: 8, value: 1 }] }));
  assert.match(md, /\| #8 \| 1 \| 1 % \| only there \(q 0\.9\) \| — \|/, 'no flag');
  assert.ok(!md.includes('selective'));
});

test('commandLink encodes its arguments as one JSON array', () => {
  assert.equal(commandLink('latentLens.highlightLatent', 'Go', { latent: 1 }), '[Go](command:latentLens.highlightLatent?%5B%7B%22latent%22%3A1%7D%5D "Go")');
  assert.equal(commandLink('latentLens.highlightLatent', '$(eye)', { latent: 1 }, 'Highlight'), '[$(eye)](command:latentLens.highlightLatent?%5B%7B%22latent%22%3A1%7D%5D "Highlight")');
});
