import { test } from 'node:test';
import assert from 'node:assert/strict';
import { customLexiconText, MAX_CUSTOM_TERMS_CHARS, parseWebviewMessage } from '../../../src/editor/browser/messages';
import { parseLexicon } from '../../../src/core/analysis/lexicon';
import { isUserError } from '../../../src/core/errors';

test('well-formed webview messages pass', () => {
  for (const m of [
    { type: 'ready' },
    { type: 'train' },
    { type: 'selectLatent', latent: 0 },
    { type: 'loadDetail', latent: 12 },
    { type: 'highlightLatent', latent: 3 },
    { type: 'highlightLatent', latent: null },
    { type: 'changeLexicon', lexicon: { kind: 'gazetteer' } },
    { type: 'changeLexicon', lexicon: { kind: 'course' } },
    { type: 'customLexicon', terms: 'Hungary\nDanube' },
    { type: 'latentEvidence', latent: 5 },
    { type: 'checkStability' },
    { type: 'cancelWork', work: 'evidence' },
    { type: 'cancelWork', work: 'latentEvidence' },
    { type: 'cancelWork', work: 'stability' },
  ]) {
    assert.deepEqual(parseWebviewMessage(m), m);
  }
  assert.deepEqual(parseWebviewMessage({ type: 'ready', extra: '<script>' }), { type: 'ready' });
});

test('malformed messages, and a webview naming a file to read, are refused', () => {
  for (const m of [
    null,
    'ready',
    [],
    {},
    { type: 'nope' },
    { type: 'latentEvidence', latent: -1 },
    { type: 'latentEvidence', latent: '3' },
    { type: 'cancelWork', work: 'train' },
    { type: 'cancelWork' },
    { type: 'selectLatent' },
    { type: 'selectLatent', latent: -1 },
    { type: 'selectLatent', latent: 1.5 },
    { type: 'selectLatent', latent: '3' },
    { type: 'loadDetail', latent: Number.NaN },
    { type: 'highlightLatent', latent: undefined },
    { type: 'changeLexicon', lexicon: { kind: 'file', path: '/etc/passwd' } },
    { type: 'changeLexicon', lexicon: null },
    { type: 'customLexicon', terms: ['Hungary'] },
  ]) {
    assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
  }
});

test('a custom word list becomes a lexicon file that reads back term for term', () => {
  const typed = '  Hungary \n\n# a comment\nCarpathian Basin\nHungary\n';
  const text = customLexiconText(typed);
  assert.deepEqual(parseLexicon(text, 'custom.json'), ['Hungary', 'Carpathian Basin']);
  const odd = customLexiconText('["#hashtag", "[Hungary", "<script>"]');
  assert.deepEqual(parseLexicon(odd, 'custom.json'), ['#hashtag', '[Hungary', '<script>']);
});

test('an empty, comment-only or oversized word list is a UserError that says what to do', () => {
  for (const terms of ['', '  \n\n', '# only a comment\n', '[]']) {
    assert.throws(() => customLexiconText(terms), (e: unknown) => isUserError(e) && /empty: type one word or phrase per line/.test((e as Error).message));
  }
  assert.throws(() => customLexiconText('x'.repeat(MAX_CUSTOM_TERMS_CHARS + 1)), (e: unknown) => isUserError(e) && /lexiconFile/.test((e as Error).message));
  assert.throws(() => customLexiconText('[1, 2]'), (e: unknown) => isUserError(e) && /JSON array of strings/.test((e as Error).message));
});
