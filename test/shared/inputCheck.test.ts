import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/core/errors';
import { checkText, checkTokenCount } from '../../src/shared/inputCheck';

const userError = (code: string, re: RegExp) => (e: unknown) => e instanceof UserError && e.code === code && re.test(e.message);

test('empty and whitespace-only text is refused with what to do', () => {
  for (const t of ['', '   \n\t  ']) assert.throws(() => checkText(t, 'notes.md'), userError('E_EMPTY', /notes\.md is empty.*Add some text/));
});

test('binary content is refused', () => {
  assert.throws(() => checkText('PK\u0003\u0004\u0000\u0000abc', 'a.zip'), userError('E_BINARY', /a\.zip looks like a binary file/));
  const mojibake = '\ufffd\u0001\u0002'.repeat(50) + 'text';
  assert.throws(() => checkText(mojibake, 'x.bin'), userError('E_BINARY', /binary/));
});

test('ordinary text, including CRLF, tabs, emoji and ANSI escapes, passes', () => {
  checkText('Pálinka 🍑\r\n\tis made in Hungary.\u001b[0m', 'a.md');
});

test('more tokens than the cap names the setting', () => {
  checkTokenCount(10, 10, 'The document');
  assert.throws(() => checkTokenCount(11, 10, 'The document'), userError('E_TOO_MANY_TOKENS', /11 GPT-2 tokens.*latentLens\.maxTokens/));
});
