/**
 * GPT-2's byte-level BPE with every token tied to its place in the source text.
 *
 * Encoding: gpt-tokenizer's r50k_base, which is GPT-2's vocabulary (50257 ids, 50256 = <|endoftext|>),
 * its merges and its pre-tokenizer regex; it ships offline, unlike a Hugging Face tokenizer.json.
 * The text "<|endoftext|>" inside a document is tokenized as plain characters, never as the special
 * token: a document must not be able to inject a document boundary.
 *
 * Offsets: `[start, end)` in UTF-16 code units of the source text (what `vscode.Position` counts).
 * A token is a run of UTF-8 bytes, and one character's bytes can be split across tokens (emoji, CJK,
 * a combining accent, a BOM). Rule: **a character belongs to the token that holds its last byte**.
 * So a token's `end` is the UTF-16 length of everything a streaming UTF-8 decoder can emit once that
 * token has been read, and `text.slice(0, end)` is exactly the characters the model has seen in full
 * at that position (it is causal: the token completing a character is the first place whose
 * activation can depend on all of it). Tokens holding only the leading bytes of a character get an
 * empty range `[p, p)` at the character's start; e.g. "🍑" = bytes F0 9F|8D|91 → [0,0) [0,0) [0,2).
 * Consequences: ranges are in order, never overlap, and tile the text: start₀ = 0, endᵢ = startᵢ₊₁,
 * end_last = text.length. `Token.text` is always the source slice `text.slice(start, end)` (empty for
 * a token that completes no character); for a token whose bytes are whole characters this equals its
 * decoded vocabulary string. A lone surrogate in the source counts as U+FFFD (3 bytes), as
 * TextEncoder and the encoder see it.
 */
import { encode } from 'gpt-tokenizer/encoding/r50k_base';
import r50kRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { UserError } from './errors';

export interface Token {
  id: number;
  text: string;
  /** [start, end) in UTF-16 code units of the source text. */
  start: number;
  end: number;
}

export const GPT2_VOCAB_SIZE = 50257;
export const END_OF_TEXT_ID = 50256;

const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

let tokenByteLengths: Uint8Array | undefined; // [GPT2_VOCAB_SIZE], UTF-8 bytes per token id

function byteLengths(): Uint8Array {
  if (!tokenByteLengths) {
    const lens = new Uint8Array(GPT2_VOCAB_SIZE);
    r50kRanks.forEach((v, id) => {
      lens[id] = typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
    });
    tokenByteLengths = lens;
  }
  return tokenByteLengths;
}

function encodePlain(text: string): number[] {
  return encode(text, PLAIN_TEXT);
}

/** The number of GPT-2 tokens of `text` (tokenize(text).length, without building the tokens). */
export function countTokens(text: string): number {
  return encodePlain(text).length;
}

/** Tokenizes `text` with GPT-2's BPE; see the module comment for the offset rule. */
export function tokenize(text: string): Token[] {
  if (text.trim() === '') {
    throw new UserError(
      'nothing to tokenize: the text is empty or only whitespace. Open or select a document that contains text and try again.',
    );
  }
  const ids = encodePlain(text);
  const lens = byteLengths();
  const tokens: Token[] = new Array(ids.length);
  let pos = 0; // UTF-16 offset of the first character not yet assigned to a token
  let bytePos = 0; // UTF-8 offset of that character
  let byteEnd = 0; // UTF-8 offset just past the current token
  for (let i = 0; i < ids.length; i++) {
    byteEnd += lens[ids[i]];
    const start = pos;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      let units = 1;
      let bytes: number;
      if (c < 0x80) bytes = 1;
      else if (c < 0x800) bytes = 2;
      else if (c >= 0xd800 && c <= 0xdbff && pos + 1 < text.length && (text.charCodeAt(pos + 1) & 0xfc00) === 0xdc00) {
        bytes = 4;
        units = 2;
      } else bytes = 3; // BMP character, or a lone surrogate encoded as U+FFFD
      if (bytePos + bytes > byteEnd) break;
      bytePos += bytes;
      pos += units;
    }
    tokens[i] = { id: ids[i], text: text.slice(start, pos), start, end: pos };
  }
  if (pos !== text.length || bytePos !== byteEnd) {
    throw new Error(`tokenizer offsets lost sync: ${bytePos}/${byteEnd} bytes, ${pos}/${text.length} UTF-16 units`);
  }
  return tokens;
}

/** First GPT-2 token id of `s`, e.g. firstTokenId(' Hungary') = 19562. */
export function firstTokenId(s: string): number {
  const ids = encodePlain(s);
  if (ids.length === 0) throw new UserError('cannot take the first token of an empty string; give a non-empty word.');
  return ids[0];
}

/**
 * The vocabulary string of one token id. A token holding part of a character's bytes decodes
 * with U+FFFD in place of them; END_OF_TEXT_ID decodes to "<|endoftext|>".
 */
export function decodeToken(id: number): string {
  if (!Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) {
    throw new RangeError(`token id ${id} is outside GPT-2's vocabulary [0, ${GPT2_VOCAB_SIZE})`);
  }
  if (id === END_OF_TEXT_ID) return '<|endoftext|>';
  const v = r50kRanks[id];
  return typeof v === 'string' ? v : new TextDecoder().decode(new Uint8Array(v));
}
