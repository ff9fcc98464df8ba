import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { matchLexicon } from '../../../src/core/analysis/conceptMatch';
import { builtinLexicon, COURSE_WORDS, parseLexicon, readLexiconFile, resolveConcept, type Lexicon } from '../../../src/core/analysis/lexicon';
import { UserError } from '../../../src/core/errors';
import { firstTokenId, tokenize } from '../../../src/core/tokenizer';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

/** The texts of the tokens a lexicon marks. */
function marked(text: string, lex: Lexicon): string[] {
  const tokens = tokenize(text);
  const { mask } = matchLexicon(tokens, lex);
  return tokens.filter((_, i) => mask[i]).map((t) => t.text);
}

const words = (terms: string[]): Lexicon => ({ name: 'test', rule: 'wholeWord', terms, source: 'test' });

test('course lexicon: the lab\'s 13 words, first token of " " + word, and of the bare word at a line start', () => {
  const course = builtinLexicon('course');
  assert.deepEqual(course.terms, COURSE_WORDS);
  assert.equal(course.terms.length, 13);
  const text = 'Hungary is in the European Union.\nRomania borders Hungary; the provinces of Austria and the Czech Republic.';
  const tokens = tokenize(text);
  const { mask, matchedTerms } = matchLexicon(tokens, course);
  const hits = tokens.filter((_, i) => mask[i]);
  // The lab matches ids: each hit is the first token of " word", or of "word" at a line start.
  for (const t of hits) {
    const ok = COURSE_WORDS.some((w) => t.id === firstTokenId(' ' + w) || (t.id === firstTokenId(w) && (t.start === 0 || text[t.start - 1] === '\n')));
    assert.ok(ok, `unexpected hit ${JSON.stringify(t.text)}`);
  }
  assert.deepEqual(
    hits.map((t) => t.text),
    ['Hung', ' European', ' Union', 'Roman', ' Hungary', ' provinces', ' Austria', ' Czech', ' Republic'],
    'at a line start the first token of the bare word ("Hung" of "Hung|ary")',
  );
  assert.deepEqual(matchedTerms, ['Hungary', 'European', 'Union', 'provinces', 'Austria', 'Czech', 'Republic', 'Romania']);
  // "Hungary" without a leading space in mid-line is another token id and does not match.
  assert.deepEqual(marked('(Hungary)', course), []);
});

test('gazetteer: several hundred countries, demonyms and regions, including the historical regions', () => {
  const g = builtinLexicon('gazetteer');
  assert.ok(g.terms.length >= 500, `${g.terms.length} terms`);
  assert.equal(new Set(g.terms).size, g.terms.length, 'no duplicates');
  for (const t of ['Hungary', 'Hungarian', 'Transylvania', 'Burgenland', 'Styria', 'Bohemia', 'Moravia', 'Lower Austria', 'Czech Republic', 'European Union', 'Carpathian Basin']) {
    assert.ok(g.terms.includes(t), t);
  }
});

test('gazetteer on the bundled sample: every place of the pálinka paragraph, whole multi-token names', () => {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'samples', 'palinka.md'), 'utf8');
  const { matchedTerms } = matchLexicon(tokenize(text), builtinLexicon('gazetteer'));
  for (const t of ['Carpathian Basin', 'Hungary', 'European Union', 'Austrian', 'Burgenland', 'Lower Austria', 'Styria', 'Vienna', 'Romania', 'Transylvania', 'Czech Republic', 'Slovakia', 'Italy', 'Greece']) {
    assert.ok(matchedTerms.includes(t), `${t} found`);
  }
  const m = marked('distilled in Transylvania and Lower Austria', builtinLexicon('gazetteer'));
  assert.equal(m.join(''), ' Transylvania Lower Austria', 'every token of a multi-token name');
});

test('whole words only; capitalised terms match case-sensitively, lowercase terms in any case', () => {
  const lex = words(['Austria', 'Turkey', 'danube valley']);
  assert.deepEqual(marked('Austrian Austria Austrias', lex), [' Austria']);
  assert.deepEqual(marked('roast turkey in Turkey', lex), [' Turkey']);
  assert.equal(marked('The Danube\nValley and the DANUBE VALLEY', lex).join(''), ' Danube\nValley DANUBE VALLEY');
  assert.deepEqual(marked("Turkey's coast", lex), ['Turkey'], 'a possessive ending does not block the match');
});

test('terms with regex characters and curly apostrophes match literally', () => {
  const lex = words(["Côte d'Ivoire", 'St. Gallen (canton)']);
  assert.equal(marked('from Côte d’Ivoire and St. Gallen (canton) and', lex).join(''), ' Côte d’Ivoire St. Gallen (canton)');
  assert.deepEqual(marked('StX Gallen', lex), []);
});

test('user lexicon files: JSON array or one term per line, comments and blanks skipped', () => {
  assert.deepEqual(parseLexicon('["Danube", " Tisza ", "Danube"]', 'f'), ['Danube', 'Tisza']);
  assert.deepEqual(parseLexicon('# rivers\nDanube\n\n  Tisza  \r\nDrava\n', 'f'), ['Danube', 'Tisza', 'Drava']);
  assert.deepEqual(parseLexicon('\n# nothing\n', 'f'), []);
  assert.throws(() => parseLexicon('[1, 2]', 'rivers.json'), (e: unknown) => e instanceof UserError && /rivers\.json must be a JSON array of strings/.test(e.message));
  assert.throws(() => parseLexicon('[oops', 'rivers.json'), (e: unknown) => e instanceof UserError && /rivers\.json starts with "\[" but is not valid JSON/.test(e.message));
  const file = path.join(root, 'rivers.txt');
  fs.writeFileSync(file, 'Danube\nTisza\n');
  assert.deepEqual(readLexiconFile(file), { name: 'rivers', rule: 'wholeWord', terms: ['Danube', 'Tisza'], source: file });
  assert.throws(() => readLexiconFile(path.join(root, 'missing.txt')), (e: unknown) => e instanceof UserError && /cannot read the lexicon file .*missing\.txt: ENOENT/.test(e.message));
});

test('resolveConcept: geography with a built-in or file lexicon, or a concept from a file', () => {
  assert.equal(resolveConcept(undefined, undefined).lexicon.name, 'gazetteer');
  assert.equal(resolveConcept('geography', 'course').lexicon.rule, 'firstToken');
  const file = path.join(root, 'rivers.txt');
  fs.writeFileSync(file, 'Danube\n');
  assert.deepEqual(resolveConcept('geography', file).lexicon.terms, ['Danube']);
  const c = resolveConcept(file, undefined);
  assert.equal(c.name, 'rivers');
  assert.throws(() => resolveConcept(file, 'course'), (e: unknown) => e instanceof UserError && /--lexicon course applies to the built-in concept/.test(e.message));
  assert.throws(() => resolveConcept('food', undefined), (e: unknown) => e instanceof UserError && /concept "food" is neither the built-in "geography" nor an existing lexicon file/.test(e.message));
});

test('an empty lexicon marks nothing', () => {
  const r = matchLexicon(tokenize('Hungary is here'), words([]));
  assert.ok(r.mask.every((v) => v === 0));
  assert.deepEqual(r.matchedTerms, []);
});
