import stopwordData from './lexicons/stopwords.json';

/**
 * Token classes of the noise profile. Punctuation: the token's text is non-empty and consists only of
 * punctuation, symbols (Unicode P and S categories) and whitespace — "(", ",", " —", "\n\n", " $".
 * A token that completes no character (empty text: leading bytes of a multi-byte character) is not
 * punctuation. Stopword: the token's text, trimmed and lower-cased, with ’ read as ', is in
 * lexicons/stopwords.json.
 */
const PUNCT_OR_SPACE = /^[\s\p{P}\p{S}]+$/u;
const STOPWORDS = new Set(stopwordData.words);

export function isPunctuation(text: string): boolean {
  return PUNCT_OR_SPACE.test(text);
}

export function isStopword(text: string): boolean {
  return STOPWORDS.has(text.trim().toLowerCase().replace(/’/g, "'"));
}

export interface TokenClasses {
  punctuation: Uint8Array; // [T] 1 = punctuation/whitespace-only
  stopword: Uint8Array; // [T] 1 = stopword
}

export function classifyTokens(tokens: readonly { text: string }[]): TokenClasses {
  const punctuation = new Uint8Array(tokens.length);
  const stopword = new Uint8Array(tokens.length);
  tokens.forEach((t, i) => {
    punctuation[i] = isPunctuation(t.text) ? 1 : 0;
    stopword[i] = isStopword(t.text) ? 1 : 0;
  });
  return { punctuation, stopword };
}
