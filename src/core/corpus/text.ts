/** What makes a file a text file here, read the way the editor reads it, and its identity. */
import { createHash } from 'node:crypto';

const SAMPLE = 8192;
/** Share of sampled characters that may be control characters or U+FFFD before the text counts as binary. */
const BINARY_SHARE = 0.1;

/** NUL characters, or more than 10 % control characters or U+FFFD among the first 8192. */
export function looksBinary(text: string): boolean {
  if (text.includes('\u0000')) return true;
  const n = Math.min(text.length, SAMPLE);
  let odd = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    // C0 controls other than tab, LF, VT, FF, CR and ESC; C1 controls; the replacement character.
    if ((c < 0x20 && !(c >= 9 && c <= 13) && c !== 0x1b) || (c >= 0x7f && c <= 0x9f) || c === 0xfffd) odd++;
  }
  return n > 0 && odd / n > BINARY_SHARE;
}

/** A file's bytes as text: UTF-8 without a leading byte-order mark, as VS Code shows it (token offsets count in it). */
export function decodeText(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** sha256 (hex) of a text's UTF-8 bytes: what identifies "the same text" in runs and caches. */
export function textSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
