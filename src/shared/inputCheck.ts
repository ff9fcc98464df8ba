/** Checks on a document's text before any work is started; each failure is a UserError saying what to do. */
import { looksBinary } from '../core/corpus/text';
import { UserError } from '../core/errors';

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
