import { test } from 'node:test';
import assert from 'node:assert/strict';
import r50kRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { decodeToken, END_OF_TEXT_ID, firstTokenId, tokenize, type Token } from '../../src/core/tokenizer';
import { UserError } from '../../src/core/errors';
import { Rng } from '../../src/core/rng';

const bytesOf = (id: number): Buffer => {
  const v = r50kRanks[id];
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
};
const tokenBytes = (id: number): number => bytesOf(id).length;
/** Lossless decode (keeps a BOM, unlike TextDecoder's default). */
const decodeIds = (ids: number[]): string => Buffer.concat(ids.map(bytesOf)).toString('utf8');

/** Ranges tile the text, and each token ends at the last character completed by its bytes. */
function assertInvariants(text: string, tokens: Token[]): void {
  assert.ok(tokens.length > 0);
  assert.equal(tokens[0].start, 0);
  assert.equal(tokens[tokens.length - 1].end, text.length);
  let bytes = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    assert.ok(t.start <= t.end, `token ${i} has start > end`);
    if (i > 0) assert.equal(t.start, tokens[i - 1].end, `token ${i} does not start where token ${i - 1} ends`);
    assert.equal(t.text, text.slice(t.start, t.end));
    bytes += tokenBytes(t.id);
    const done = Buffer.byteLength(text.slice(0, t.end), 'utf8');
    assert.ok(done <= bytes, `token ${i} claims a character whose last byte comes later`);
    if (t.end < text.length) {
      const next = String.fromCodePoint(text.codePointAt(t.end)!);
      assert.ok(done + Buffer.byteLength(next, 'utf8') > bytes, `token ${i} leaves out a completed character`);
    }
  }
  assert.equal(tokens.map((t) => t.text).join(''), text);
}

const ranges = (tokens: Token[]): [number, number][] => tokens.map((t) => [t.start, t.end]);

test('ids are GPT-2 ids', () => {
  assert.deepEqual(tokenize('Hello world').map((t) => t.id), [15496, 995]);
  assert.deepEqual(tokenize('Hello, world!').map((t) => t.id), [15496, 11, 995, 0]);
  assert.deepEqual(tokenize('The cat (a).\n').map((t) => t.id), [464, 3797, 357, 64, 737, 198]);
  assert.deepEqual(ranges(tokenize('Hello world')), [[0, 5], [5, 11]]);
  assert.equal(firstTokenId(' Hungary'), 19562);
  assert.equal(firstTokenId('Hello world'), 15496);
});

test('"<|endoftext|>" in a document is plain text, not the special token', () => {
  const tokens = tokenize('<|endoftext|>');
  assert.deepEqual(tokens.map((t) => t.id), [27, 91, 437, 1659, 5239, 91, 29]);
  assert.ok(!tokens.some((t) => t.id === END_OF_TEXT_ID));
});

test('Pálinka, precomposed (NFC) and with a combining accent (NFD)', () => {
  const nfc = 'Pálinka'.normalize('NFC');
  const a = tokenize(nfc);
  assert.deepEqual(a.map((t) => t.id), [47, 6557, 8726, 64]);
  assert.deepEqual(ranges(a), [[0, 1], [1, 2], [2, 6], [6, 7]]);
  assert.deepEqual(a.map((t) => t.text), ['P', 'á', 'link', 'a']);

  const nfd = nfc.normalize('NFD');
  assert.equal(nfd, 'Pa\u0301linka');
  const b = tokenize(nfd);
  // U+0301 is CC 81: its first byte is a token of its own, so that token gets an empty range.
  assert.deepEqual(b.map((t) => t.id), [28875, 136, 223, 8726, 64]);
  assert.deepEqual(ranges(b), [[0, 2], [2, 2], [2, 3], [3, 7], [7, 8]]);
  assertInvariants(nfc, a);
  assertInvariants(nfd, b);
});

test('an emoji split over three tokens belongs to the token holding its last byte', () => {
  const a = tokenize('🍑');
  assert.deepEqual(a.map((t) => t.id), [8582, 235, 239]);
  assert.deepEqual(ranges(a), [[0, 0], [0, 0], [0, 2]]);
  const b = tokenize(' 🍑 peach');
  assert.deepEqual(ranges(b).slice(0, 3), [[0, 1], [1, 1], [1, 3]]);
  assert.equal(b[2].text, '🍑');
  for (const s of ['🍑', ' 🍑 peach', '👍🏽 ok', '👨‍👩‍👧 family', '🇭🇺🇦🇹', 'x😀y😀z']) assertInvariants(s, tokenize(s));
});

test('CJK characters split over two tokens each', () => {
  const t = tokenize('日本語');
  assert.equal(t.length, 6);
  assert.deepEqual(ranges(t), [[0, 0], [0, 1], [1, 1], [1, 2], [2, 2], [2, 3]]);
  assertInvariants('日本語', t);
  assertInvariants('中文 text 한국어 テキスト', tokenize('中文 text 한국어 テキスト'));
});

test('CRLF line ends keep \\r and \\n as their own ranges', () => {
  const t = tokenize('a\r\nb');
  assert.deepEqual(t.map((x) => x.id), [64, 201, 198, 65]);
  assert.deepEqual(ranges(t), [[0, 1], [1, 2], [2, 3], [3, 4]]);
  const doc = 'Line one.\r\nLine two.\r\n\r\nEnd\r\n';
  assertInvariants(doc, tokenize(doc));
});

test('a leading BOM is three byte tokens; the third one carries U+FEFF', () => {
  const t = tokenize('\uFEFFHi');
  assert.deepEqual(t.map((x) => x.id), [171, 119, 123, 17250]);
  assert.deepEqual(ranges(t), [[0, 0], [0, 0], [0, 1], [1, 3]]);
});

test('mixed text: whole-character tokens show their vocabulary string', () => {
  const doc = '\uFEFF# Pálinka 🍑\r\nA „pálinka” (Pa\u0301linka) from Győr, 日本, naïve café — 100% “fruit”.\n';
  const tokens = tokenize(doc);
  assertInvariants(doc, tokens);
  assert.equal(decodeIds(tokens.map((t) => t.id)), doc);
  for (const t of tokens) {
    if (!decodeToken(t.id).includes('\uFFFD')) assert.equal(t.text, decodeToken(t.id));
  }
});

test('a lone surrogate counts as U+FFFD and still gets its own range', () => {
  const t = tokenize('\ud800x');
  assert.deepEqual(ranges(t), [[0, 1], [1, 2]]);
  assertInvariants('a\udc00b\ud83d', tokenize('a\udc00b\ud83d'));
});

test('empty or whitespace-only text is a UserError saying there is nothing to tokenize', () => {
  for (const s of ['', ' ', '\n\r\n\t  ', '\uFEFF', '\u00a0\u3000']) {
    assert.throws(() => tokenize(s), (e: unknown) => e instanceof UserError && /^nothing to tokenize: .*empty or only whitespace/.test(e.message));
  }
  assert.throws(() => firstTokenId(''), UserError);
});

test('decodeToken', () => {
  assert.equal(decodeToken(995), ' world');
  assert.equal(decodeToken(END_OF_TEXT_ID), '<|endoftext|>');
  assert.equal(decodeToken(236), '\uFFFD');
  assert.throws(() => decodeToken(50257), RangeError);
  assert.throws(() => decodeToken(-1), RangeError);
});

test('property: random unicode strings are tiled exactly', () => {
  const rng = new Rng(7);
  // [lo, hi] code point ranges: ASCII, whitespace, Latin-1/Extended, combining marks, Greek/Cyrillic,
  // CJK, Hangul, emoji (astral), ZWJ/variation selector, BOM, lone surrogates.
  const pools: [number, number][] = [
    [0x20, 0x7e], [0x20, 0x7e], [0x20, 0x7e], [0x09, 0x0d], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x4ff],
    [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0x1f300, 0x1faff], [0x200d, 0x200d], [0xfe0f, 0xfe0f], [0xfeff, 0xfeff],
    [0xd800, 0xdfff],
  ];
  for (let n = 0; n < 300; n++) {
    const len = 1 + rng.int(40);
    let s = 'x';
    for (let i = 0; i < len; i++) {
      const [lo, hi] = pools[rng.int(pools.length)];
      const cp = lo + rng.int(hi - lo + 1);
      s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    }
    const tokens = tokenize(s);
    assertInvariants(s, tokens);
    if (!/[\ud800-\udfff]/u.test(s)) assert.equal(decodeIds(tokens.map((t) => t.id)), s);
  }
});
