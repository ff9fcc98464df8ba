/** Checks on a document's text before any work is started; each failure is a UserError saying what to do. */
import { UserError } from '../core/errors';

const SAMPLE = 8192;
/** Share of sampled characters that may be control characters or U+FFFD before the text counts as binary. */
const BINARY_SHARE = 0.1;

function looksBinary(text: string): boolean {
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

/** `what` names the text in messages, e.g. "notes.md" or "the selection in notes.md". */
export function checkText(text: string, what: string): void {
  if (text.trim() === '') {
    throw new UserError(`${what} is empty or only whitespace, so there is nothing to train on. Add some text (or select a non-empty part) and run "Train SAE on this file" again.`, 'E_EMPTY');
  }
  if (looksBinary(text)) {
    throw new UserError(`${what} looks like a binary file (NUL bytes or mostly control characters), not text. Latent Lens reads text documents; open a text file instead.`, 'E_BINARY');
  }
}

/** The token cap of one run (setting latentLens.maxTokens). */
export function checkTokenCount(count: number, maxTokens: number, what: string): void {
  if (count > maxTokens) {
    throw new UserError(
      `${what} has ${count} GPT-2 tokens, more than the limit of ${maxTokens} set by latentLens.maxTokens. Select a part of the document and run the command on the selection, or raise latentLens.maxTokens (training time grows with the token count).`,
      'E_TOO_MANY_TOKENS',
    );
  }
}
