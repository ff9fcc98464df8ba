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
    model: 'gpt2',
    randomWeights: false,
    hook: 'blocks.6.hook_mlp_out',
    conceptName: 'geography',
    stale: false,
    tint: 'Tint: #7 at 92 % of its document max (the highest of its 2 strongest latents, each against its own max; always-on and near-always latents skipped)',
    ...over,
  };
}

test('lists the token, each top latent with its facts, and the two command links', () => {
  const md = hoverMarkdown(input());
  assert.match(md, /token 5 of 220: \*\*·Hungary\*\*/);
  assert.match(md, /\| #7 \| 4\.25 \| 4\.5 % \| 3\.2 \(p 0\.004, q 0\.02\) \| geography\\-selective, possible proxy \\\(fires on punctuation\\\/stopwords\\\), punctuation\\-firing \|/);
  assert.match(md, /\| #2 \| 0\.5 \| 100 % \| — \| always on \|/);
  const html = new MarkdownIt({ html: true, linkify: true }).render(md);
  assert.ok(html.includes('<p>Tint: #7 at 92 % of its document max (the highest of its 2 strongest latents, each against its own max; always-on and near-always latents skipped)</p>'), 'which latent set the tint, and why');
  const links = [...md.matchAll(/\]\(command:([\w.]+)\?([^ )]+)/g)].map((m) => [m[1], JSON.parse(decodeURIComponent(m[2]))]);
  assert.deepEqual(links, [
    ['latentLens.showLatent', [{ latent: 7, uri: 'file:///doc.md' }]],
    ['latentLens.highlightLatent', [{ latent: 7, uri: 'file:///doc.md' }]],
    ['latentLens.showLatent', [{ latent: 2, uri: 'file:///doc.md' }]],
    ['latentLens.highlightLatent', [{ latent: 2, uri: 'file:///doc.md' }]],
  ]);
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

test('random weights and a stale run are said; no latent firing is said', () => {
  const md = hoverMarkdown(input({ randomWeights: true, model: 'random test model (seed 0) — RANDOM WEIGHTS', stale: true, top: [] }));
  assert.match(md, /random-weight test model, not of GPT-2/);
  assert.match(md, /edited after this run/);
  assert.match(md, /No latent fires on this token/);
});

test('a latent that is not significant gets no selective flag; an undefined ratio reads "only on concept tokens"', () => {
  const md = hoverMarkdown(input({ top: [{ latent: 8, value: 1 }] }));
  assert.match(md, /\| #8 \| 1 \| 1 % \| only on concept tokens \(p 0\.3, q 0\.9\) \| — \|/, 'no flag');
  assert.ok(!md.includes('selective'));
});

test('commandLink encodes its arguments as one JSON array', () => {
  assert.equal(commandLink('latentLens.highlightLatent', 'Go', { latent: 1 }), '[Go](command:latentLens.highlightLatent?%5B%7B%22latent%22%3A1%7D%5D "Go")');
});
