import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLatentArg } from '../../../src/editor/commands/latentArg';

test('hover links, bare ids and nothing', () => {
  assert.deepEqual(parseLatentArg({ latent: 7, uri: 'file:///a' }), { latent: 7, uri: 'file:///a' });
  assert.deepEqual(parseLatentArg(12), { latent: 12 });
  assert.deepEqual(parseLatentArg('#12'), { latent: 12 });
  assert.deepEqual(parseLatentArg(undefined), {});
  assert.deepEqual(parseLatentArg({ latent: '7; rm -rf' }), { latent: undefined, uri: undefined });
  assert.deepEqual(parseLatentArg('abc'), {});
});
