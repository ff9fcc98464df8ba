import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import gazetteerData from './lexicons/gazetteer.json';

/**
 * A lexicon is the list of terms that defines a concept's tokens.
 *   firstToken — the lab's rule: a token is a concept token when its id is the first GPT-2 token of
 *                " " + term, or of term itself when the token starts a line (or the document).
 *   wholeWord  — a term matches whole words of the text (see conceptMatch.ts); every token that
 *                overlaps a match is a concept token, so multi-token words and names count in full.
 */
export type MatchRule = 'firstToken' | 'wholeWord';

export interface Lexicon {
  /** "course", "gazetteer", or the file's name. */
  name: string;
  rule: MatchRule;
  terms: string[];
  /** Where the terms came from: "built-in" or a file path. */
  source: string;
}

export interface Concept {
  name: string;
  lexicon: Lexicon;
}

export const BUILTIN_CONCEPT = 'geography';
export const BUILTIN_LEXICONS = ['gazetteer', 'course'] as const;
export type BuiltinLexicon = (typeof BUILTIN_LEXICONS)[number];
export const DEFAULT_LEXICON: BuiltinLexicon = 'gazetteer';

/** The course lab's 13 geography words (method note). */
export const COURSE_WORDS = [
  'Hungary', 'geographical', 'European', 'Union', 'provinces', 'Austria', 'Czech',
  'Republic', 'Slovakia', 'Romania', 'Italy', 'Greece', 'regions',
];

export function builtinLexicon(name: BuiltinLexicon): Lexicon {
  if (name === 'course') return { name, rule: 'firstToken', terms: [...COURSE_WORDS], source: 'built-in' };
  const g = gazetteerData;
  return { name, rule: 'wholeWord', terms: [...g.countries, ...g.demonyms, ...g.regions], source: 'built-in' };
}

/**
 * Terms of a user lexicon file: a JSON array of strings, or plain text with one term per line
 * (blank lines and lines starting with # are skipped). An empty list is allowed here; the report says so.
 */
export function parseLexicon(text: string, file: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new UserError(`${file} starts with "[" but is not valid JSON (${(e as Error).message}); write a JSON array of strings or one term per line.`, 'E_LEXICON');
    }
    if (!Array.isArray(json) || !json.every((t) => typeof t === 'string')) {
      throw new UserError(`${file} must be a JSON array of strings such as ["Hungary", "Danube"]; write it so, or one term per line.`, 'E_LEXICON');
    }
    return dedupe(json as string[]);
  }
  return dedupe(text.split(/\r?\n/).filter((l) => !l.trim().startsWith('#')));
}

function dedupe(terms: string[]): string[] {
  return [...new Set(terms.map((t) => t.trim()).filter((t) => t !== ''))];
}

export function readLexiconFile(file: string): Lexicon {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read the lexicon file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}. Give a readable file with one term per line or a JSON array of strings.`, 'E_LEXICON');
  }
  return { name: path.basename(file).replace(/\.[^.]*$/, ''), rule: 'wholeWord', terms: parseLexicon(text, file), source: file };
}

/**
 * The concept to test, from the CLI's `--concept geography|FILE` and `--lexicon course|gazetteer|FILE`
 * (or the settings concept.lexicon / concept.lexiconFile): "geography" (the default) takes its terms
 * from the named built-in lexicon or from a lexicon file; any other concept is a lexicon file whose
 * name (without extension) names the concept.
 */
export function resolveConcept(concept: string | undefined, lexicon: string | undefined): Concept {
  if (concept === undefined || concept === BUILTIN_CONCEPT) {
    const lex = lexicon ?? DEFAULT_LEXICON;
    return { name: BUILTIN_CONCEPT, lexicon: (BUILTIN_LEXICONS as readonly string[]).includes(lex) ? builtinLexicon(lex as BuiltinLexicon) : readLexiconFile(lex) };
  }
  if (lexicon !== undefined) {
    throw new UserError(`--lexicon ${lexicon} applies to the built-in concept "${BUILTIN_CONCEPT}"; a concept read from a file (${concept}) uses that file's terms. Drop one of the two.`, 'E_USAGE');
  }
  if (!fs.existsSync(concept)) {
    throw new UserError(`concept "${concept}" is neither the built-in "${BUILTIN_CONCEPT}" nor an existing lexicon file; give "${BUILTIN_CONCEPT}" or the path of a file with one term per line.`, 'E_USAGE');
  }
  const lex = readLexiconFile(concept);
  return { name: lex.name, lexicon: lex };
}
