import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeMarkdown, tokenLabel } from '../../../src/editor/hover/markdownEscape';

// A CommonMark renderer (markdown-it, a devDependency) with raw HTML and linkify on: the
// most permissive reading of the hover text.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const MarkdownIt: new (o: { html: boolean; linkify: boolean }) => { renderInline(src: string): string } = require('markdown-it');
const md = new MarkdownIt({ html: true, linkify: true });
const render = (s: string) => md.renderInline(s);
const decode = (html: string) => html.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');

const hostile = [
  '<script>alert(1)</script>',
  '<img src=x onerror="alert(1)">',
  '[click](command:latentLens.trainOnFile)',
  '[x](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D)',
  '![img](https://example.com/a.png)',
  '**bold** _em_ `code` ~~del~~ # heading',
  '<https://example.com> www.example.com',
  '&lt;already escaped&gt; &#x3C;',
  'back\\slash \\[ \\<',
  '| table | row |',
  '$(eye) $(link-external~spin)',
];

test('hostile text renders as exactly itself, with no tags, links or emphasis', () => {
  for (const s of hostile) {
    const html = render(escapeMarkdown(s));
    assert.ok(!/<(?!\/?p>)[a-z!/]/i.test(html), `no HTML element from ${JSON.stringify(s)}: ${html}`);
    assert.equal(decode(html), s, `round trip of ${JSON.stringify(s)}`);
  }
});

test('escaped text embedded in a surrounding markdown line stays inert', () => {
  const html = render(`token **${escapeMarkdown('](command:x) <b>')}** end`);
  assert.equal(html, `token <strong>](command:x) &lt;b&gt;</strong> end`);
});

test('tokenLabel shows whitespace and escapes the rest', () => {
  assert.equal(tokenLabel(' Hungary'), '·Hungary');
  assert.equal(tokenLabel('\n\t'), '↵⇥');
  assert.equal(tokenLabel(' (['), '·\\(\\[');
  assert.equal(tokenLabel(''), '(part of a character)');
  assert.equal(decode(render(tokenLabel('<img onerror=x>'))), '<img·onerror=x>');
});

test('a $(icon) in the document cannot become an icon: its $ is an entity', () => {
  const escaped = escapeMarkdown('$(eye) and $(trash)');
  assert.ok(!escaped.includes('$('), escaped);
  assert.equal(decode(render(escaped).replace(/&#36;/g, '$')), '$(eye) and $(trash)');
});
