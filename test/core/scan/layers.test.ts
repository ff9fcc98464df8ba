import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../../src/core/errors';
import { layerHook, parseLayerSpec, resolveLayers, templateKind } from '../../../src/core/scan/layers';

const userError = (code: string, re: RegExp) => (e: unknown) => e instanceof UserError && e.code === code && re.test(e.message);

test('--layers: all, a list, a range and mixtures, sorted and without repeats', () => {
  assert.equal(parseLayerSpec('all'), 'all');
  assert.deepEqual(resolveLayers('all', 4), [0, 1, 2, 3]);
  assert.deepEqual(parseLayerSpec('0,3,6'), [0, 3, 6]);
  assert.deepEqual(parseLayerSpec('2-8'), [2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(parseLayerSpec(' 11, 0,4-5,5 '), [0, 4, 5, 11]);
  assert.deepEqual(resolveLayers([0, 11], 12), [0, 11]);
});

test('--layers: malformed specs and layers out of range are UserErrors that say what to give', () => {
  for (const bad of ['', 'some', '3-1', '1,,2', '-1', '1.5', '2-']) assert.throws(() => parseLayerSpec(bad), userError('E_USAGE', /--layers .* is neither a layer/), bad);
  assert.throws(() => resolveLayers([0, 12], 12, '0,12'), userError('E_HOOK', /layer 12 \(--layers 0,12\) is out of range: this model has 12 layers, so layers run from 0 to 11/));
  assert.throws(() => resolveLayers(parseLayerSpec('2-8'), 4, '2-8'), userError('E_HOOK', /layer 4 .* out of range/));
});

test('--hook-template: needs {L} and a known hook kind', () => {
  assert.equal(templateKind('blocks.{L}.hook_mlp_out'), 'hook_mlp_out');
  assert.equal(templateKind('blocks.{L}.mlp.hook_pre'), 'mlp.hook_pre');
  assert.equal(layerHook('blocks.{L}.hook_resid_post', 3), 'blocks.3.hook_resid_post');
  assert.throws(() => templateKind('blocks.6.hook_mlp_out'), userError('E_USAGE', /has no \{L\}, so it names the same hook in every layer; write it as blocks\.\{L\}\.hook_mlp_out/));
  assert.throws(() => templateKind('hook_resid_pre'), userError('E_USAGE', /write it as blocks\.\{L\}\.hook_resid_pre/));
  assert.throws(() => templateKind('blocks.{L}.hook_nope'), userError('E_HOOK', /not blocks\.\{L\}\.<hook> with a hook Latent Lens knows/));
  assert.throws(() => templateKind('{L}.hook_mlp_out'), userError('E_HOOK', /not blocks\.\{L\}/));
});
