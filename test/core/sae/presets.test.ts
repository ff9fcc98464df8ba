import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../../src/core/errors';
import type { Gpt2Config } from '../../../src/core/model/config';
import { getPreset, parseK, parseLatents, resolveHook, resolveSettings } from '../../../src/core/sae/presets';

const gpt2: Gpt2Config = { nLayer: 12, nHead: 12, nEmbd: 768, nPositions: 1024, vocabSize: 50257, layerNormEpsilon: 1e-5, activation: 'gelu_new' };
const tiny: Gpt2Config = { ...gpt2, nLayer: 2, nHead: 4, nEmbd: 64 };

test('seed preset on GPT-2 Small is the write-up: blocks.6.hook_mlp_out, 768 → 6144 latents, k 384, MSE only', () => {
  const hook = resolveHook({}, gpt2);
  assert.equal(hook.name, 'blocks.6.hook_mlp_out');
  const s = resolveSettings({}, hook, hook.width);
  assert.deepEqual(s, { preset: 'seed', hookName: 'blocks.6.hook_mlp_out', layer: 6, dIn: 768, nLatents: 6144, k: 384, l1: 0, decor: 0, lr: 1e-4, epochs: 100, seed: 0 });
});

test('course preset on GPT-2 Small is the lab: blocks.6.mlp.hook_pre, 3072 → 6144 latents, k 1024, λ1 1, λc 0.0005', () => {
  const hook = resolveHook({ preset: 'course' }, gpt2);
  assert.equal(hook.name, 'blocks.6.mlp.hook_pre');
  const s = resolveSettings({ preset: 'course' }, hook, hook.width);
  assert.deepEqual(s, { preset: 'course', hookName: 'blocks.6.mlp.hook_pre', layer: 6, dIn: 3072, nLatents: 6144, k: 1024, l1: 1, decor: 0.0005, lr: 1e-4, epochs: 100, seed: 0 });
});

test('the default layer is n_layer // 2 of the model: layer 1 of a 2-layer model', () => {
  assert.equal(resolveHook({}, tiny).name, 'blocks.1.hook_mlp_out');
  assert.equal(resolveHook({ layer: 0 }, tiny).name, 'blocks.0.hook_mlp_out');
  assert.equal(resolveHook({ hook: 'blocks.0.mlp.hook_pre' }, tiny).name, 'blocks.0.mlp.hook_pre');
  assert.equal(resolveHook({ hook: 'hook_resid_post', layer: 0 }, tiny).name, 'blocks.0.hook_resid_post');
});

test('every field overrides the preset', () => {
  const s = resolveSettings({ preset: 'course', latents: '100', k: '7', l1: 0, decor: 0.1, lr: 0.01, epochs: 3, seed: 9 }, { name: 'blocks.1.mlp.hook_pre', layer: 1 }, 256);
  assert.deepEqual(s, { preset: 'course', hookName: 'blocks.1.mlp.hook_pre', layer: 1, dIn: 256, nLatents: 100, k: 7, l1: 0, decor: 0.1, lr: 0.01, epochs: 3, seed: 9 });
});

test('k parses as a count or a fraction of d_in', () => {
  assert.equal(parseK('384', 768), 384);
  assert.equal(parseK(384, 768), 384);
  assert.equal(parseK('0.5', 768), 384);
  assert.equal(parseK('.25', 64), 16);
  assert.equal(parseK('1/3', 3072), 1024);
  assert.equal(parseK('0.1', 30), 3);
  for (const bad of ['1.5', '-3', 'abc', '', '0/3', '3/3', '1e2']) assert.throws(() => parseK(bad, 768), UserError, bad);
});

test('latents parse as a count or a multiple of d_in', () => {
  assert.equal(parseLatents('6144', 768), 6144);
  assert.equal(parseLatents('8x', 768), 6144);
  assert.equal(parseLatents('2X', 3072), 6144);
  assert.equal(parseLatents('2.5x', 64), 160);
  for (const bad of ['x', '8y', '-2x', 'many', '']) assert.throws(() => parseLatents(bad, 768), UserError, bad);
});

test('an unknown preset names the valid ones', () => {
  assert.throws(() => getPreset('fast'), /unknown preset "fast".*seed, course/);
});
