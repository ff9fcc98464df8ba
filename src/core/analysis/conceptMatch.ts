import type { RunToken } from '../run/format';
import { firstTokenId } from '../tokenizer';
import type { Lexicon } from './lexicon';

/** Which tokens a lexicon marks, and which of its terms occur in the document. */
export interface LexiconMatch {
  mask: Uint8Array; // [T] 1 = concept token
  /** Terms found at least once, in lexicon order. */
  matchedTerms: string[];
}

type Tok = Pick<RunToken, 'id' | 'text'>;

/** Start of each token in the text the tokens tile (their texts concatenated), plus the total length. */
function tokenStarts(tokens: readonly Tok[]): Int32Array {
  const starts = new Int32Array(tokens.length + 1);
  for (let i = 0; i < tokens.length; i++) starts[i + 1] = starts[i] + tokens[i].text.length;
  return starts;
}

function matchFirstToken(tokens: readonly Tok[], terms: string[]): LexiconMatch {
  const spaced = new Map<number, string>(); // id of " " + term → term
  const bare = new Map<number, string>(); // id of term, at a line start
  for (const t of terms) {
    if (!spaced.has(firstTokenId(' ' + t))) spaced.set(firstTokenId(' ' + t), t);
    if (!bare.has(firstTokenId(t))) bare.set(firstTokenId(t), t);
  }
  const mask = new Uint8Array(tokens.length);
  const found = new Set<string>();
  let lineStart = true;
  tokens.forEach((tok, i) => {
    const term = spaced.get(tok.id) ?? (lineStart ? bare.get(tok.id) : undefined);
    if (term !== undefined) {
      mask[i] = 1;
      found.add(term);
    }
    if (tok.text !== '') lineStart = tok.text.endsWith('\n');
  });
  return { mask, matchedTerms: terms.filter((t) => found.has(t)) };
}

const WORD_CHAR = String.raw`[\p{L}\p{M}\p{N}_]`;

/** A term as a regex body: literal characters, any whitespace run between words, ' and ’ alike. */
function termPattern(term: string): string {
  return term
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\s+/g, String.raw`\s+`)
    .replace(/['’]/g, "['’]");
}

/**
 * Whole-word matching: a match may not touch a letter, mark, digit or underscore on either side, so
 * "Austria" does not match inside "Austrian". Terms containing a capital letter match
 * case-sensitively (proper nouns: "Turkey" but not "turkey"); all-lowercase terms in any case.
 * Longer terms win where two start at the same place ("Lower Austria" over "Lower").
 */
function wholeWordRegexes(terms: string[]): RegExp[] {
  const bySize = [...terms].sort((a, b) => b.length - a.length);
  const sensitive = bySize.filter((t) => t !== t.toLowerCase());
  const insensitive = bySize.filter((t) => t === t.toLowerCase());
  const build = (ts: string[], flags: string) => new RegExp(`(?<!${WORD_CHAR})(?:${ts.map(termPattern).join('|')})(?!${WORD_CHAR})`, flags);
  return [...(sensitive.length ? [build(sensitive, 'gu')] : []), ...(insensitive.length ? [build(insensitive, 'giu')] : [])];
}

function matchWholeWord(tokens: readonly Tok[], terms: string[]): LexiconMatch {
  const text = tokens.map((t) => t.text).join('');
  const starts = tokenStarts(tokens);
  const mask = new Uint8Array(tokens.length);
  const found = new Set<string>();
  const canonical = new Map(terms.map((t) => [normalize(t), t]));
  for (const re of wholeWordRegexes(terms)) {
    for (const m of text.matchAll(re)) {
      const from = m.index;
      const to = from + m[0].length;
      found.add(canonical.get(normalize(m[0])) ?? m[0]);
      // First token ending after `from`; then every token starting before `to`. Empty tokens (leading
      // bytes of a character inside the match) sit at a position within [from, to) and count too.
      let lo = 0;
      let hi = tokens.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid + 1] > from || (starts[mid + 1] === from && starts[mid] === from)) hi = mid;
        else lo = mid + 1;
      }
      for (let i = lo; i < tokens.length && starts[i] < to; i++) mask[i] = 1;
    }
  }
  return { mask, matchedTerms: terms.filter((t) => found.has(t)) };
}

/** How a matched span reads back to its term: whitespace runs as one space, ’ as ', case folded. */
function normalize(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/’/g, "'").toLowerCase();
}

export function matchLexicon(tokens: readonly Tok[], lexicon: Lexicon): LexiconMatch {
  if (lexicon.terms.length === 0) return { mask: new Uint8Array(tokens.length), matchedTerms: [] };
  return lexicon.rule === 'firstToken' ? matchFirstToken(tokens, lexicon.terms) : matchWholeWord(tokens, lexicon.terms);
}
