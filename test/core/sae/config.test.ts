import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../../src/core/errors';
import type { Gpt2Config } from '../../../src/core/model/config';
import { runCfg, saeConfigOf } from '../../../src/core/run/runCfg';
import { AUXK_ALPHA, CORPUS_EARLY_STOP, CORPUS_TOKEN_BUDGET, parseK, parseLatents, PRESETS, resolveHook, saeConfig, saeShape, type SaeConfig } from '../../../src/core/sae/config';
import { tiedSae } from '../../../src/core/sae/model';

const gpt2: Gpt2Config = { nLayer: 12, nHead: 12, nEmbd: 768, nPositions: 1024, vocabSize: 50257, layerNormEpsilon: 1e-5, activation: 'gelu_new' };
const tiny: Gpt2Config = { ...gpt2, nLayer: 2, nHead: 4, nEmbd: 64 };

/** A config resolved on a model, in the flat form the assertions below compare. */
function resolved(c: SaeConfig, model: Gpt2Config) {
  const hook = resolveHook(c, model);
  const { dIn, nLatents, k } = saeShape(c, hook.width);
  return { preset: c.preset, hookName: hook.name, layer: hook.layer, dIn, nLatents, k, l1: c.l1, decor: c.decor, lr: c.lr, epochs: c.epochs, seed: c.seed };
}

test('seed preset on GPT-2 Small is the write-up: blocks.6.hook_mlp_out, 768 → 6144 latents, k 384, MSE only', () => {
  assert.equal(resolveHook(saeConfig(), gpt2).name, 'blocks.6.hook_mlp_out');
  assert.deepEqual(resolved(saeConfig(), gpt2), { preset: 'seed', hookName: 'blocks.6.hook_mlp_out', layer: 6, dIn: 768, nLatents: 6144, k: 384, l1: 0, decor: 0, lr: 1e-4, epochs: 100, seed: 0 });
});

test('course preset on GPT-2 Small is the lab: blocks.6.mlp.hook_pre, 3072 → 6144 latents, k 1024, λ1 1, λc 0.0005', () => {
  assert.equal(resolveHook(saeConfig({ preset: 'course' }), gpt2).name, 'blocks.6.mlp.hook_pre');
  assert.deepEqual(resolved(saeConfig({ preset: 'course' }), gpt2), { preset: 'course', hookName: 'blocks.6.mlp.hook_pre', layer: 6, dIn: 3072, nLatents: 6144, k: 1024, l1: 1, decor: 0.0005, lr: 1e-4, epochs: 100, seed: 0 });
});

test('the default layer is n_layer // 2 of the model: layer 1 of a 2-layer model', () => {
  assert.equal(resolveHook(saeConfig(), tiny).name, 'blocks.1.hook_mlp_out');
  assert.equal(resolveHook(saeConfig({ layer: 0 }), tiny).name, 'blocks.0.hook_mlp_out');
  assert.equal(resolveHook(saeConfig({ hook: 'blocks.0.mlp.hook_pre' }), tiny).name, 'blocks.0.mlp.hook_pre');
  assert.equal(resolveHook(saeConfig({ hook: 'hook_resid_post', layer: 0 }), tiny).name, 'blocks.0.hook_resid_post');
});

test('every field overrides the preset', () => {
  const c = saeConfig({ preset: 'course', hook: 'blocks.1.mlp.hook_pre', latents: '100', k: '7', l1: 0, decor: 0.1, lr: 0.01, epochs: 3, seed: 9, batchTokens: 512 });
  assert.deepEqual(resolved(c, { ...tiny, nEmbd: 64 }), { preset: 'course', hookName: 'blocks.1.mlp.hook_pre', layer: 1, dIn: 256, nLatents: 100, k: 7, l1: 0, decor: 0.1, lr: 0.01, epochs: 3, seed: 9 });
  assert.equal(c.batchTokens, 512);
});

test('undefined overrides leave the preset value; presets are values of the one config type', () => {
  assert.deepEqual(saeConfig({ epochs: undefined, k: undefined }), PRESETS.seed);
  assert.deepEqual(saeConfig({ preset: 'course' }), PRESETS.course);
});

test('k parses as a count or a fraction of d_in', () => {
  assert.equal(parseK('384', 768), 384);
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
  assert.throws(() => saeConfig({ preset: 'fast' }), /unknown preset "fast".*seed, course/);
});

test('bad fields are refused before any model is loaded, naming the flag', () => {
  assert.throws(() => saeConfig({ epochs: 0 }), /epochs must be an integer ≥ 1, got 0/);
  assert.throws(() => saeConfig({ lr: -1 }), /learning rate must be a positive number/);
  assert.throws(() => saeConfig({ latents: '10', k: '10' }), /k must be an integer from 1 to 9/);
  assert.throws(() => saeConfig({ k: 'half' }), /k "half" is neither a count/);
  assert.throws(() => saeConfig({ batchTokens: 1 }), /batch size must be an integer ≥ 2/);
  assert.throws(() => saeShape(saeConfig({ latents: '0.5x', k: '0.9' }), 10), /k must be an integer from 1 to 4/);
});

test('cfg.json maps to the config in one place: saeConfigOf(runCfg(c)) trains the same SAE again', () => {
  const c = saeConfig({ preset: 'course', seed: 4, epochs: 7, batchTokens: 1024 });
  const shape = saeShape(c, 256);
  const sae = tiedSae(new Float32Array(shape.dIn * shape.nLatents), shape, { hookName: 'blocks.1.mlp.hook_pre', modelName: 'm' });
  const cfg = runCfg(c, sae, { model: { name: 'm', random_weights: true }, engine: 'ort', device: 'cpu', nTokens: 9 });
  assert.deepEqual(cfg.sae, {
    activation: 'topk', k: 85, d_in: 256, d_sae: 512, apply_b_dec_to_input: true, normalize_activations: 'none', tied: true,
    hook_name: 'blocks.1.mlp.hook_pre', model_name: 'm', prepend_bos: false, center_writing_weights: false, source: { kind: 'trained' },
  });
  const again = saeConfigOf(cfg);
  assert.deepEqual(resolved(again, { ...tiny, nEmbd: 64 }), resolved(c, { ...tiny, nEmbd: 64 }));
  assert.equal(again.batchTokens, 1024);
});

test('corpus defaults: AuxK 1/32 and a bounded schedule (the preset’s epochs, a token budget, early stopping); the presets stay exact for one document', () => {
  const doc = saeConfig({});
  assert.deepEqual([doc.auxk, doc.epochs, doc.steps, doc.tokens, doc.earlyStop], [0, 100, null, null, null]);
  const corpus = saeConfig({}, 'corpus');
  assert.deepEqual([corpus.auxk, corpus.epochs, corpus.steps, corpus.tokens, corpus.earlyStop], [AUXK_ALPHA, 100, null, CORPUS_TOKEN_BUDGET, CORPUS_EARLY_STOP]);
  assert.deepEqual({ ...corpus, auxk: 0, tokens: null, earlyStop: null }, PRESETS.seed, 'only AuxK and the schedule differ');
  // A length given replaces the whole default schedule: exactly that long.
  for (const length of [{ epochs: 7 }, { steps: 500 }, { tokens: 10_000 }]) {
    const c = saeConfig(length, 'corpus');
    assert.deepEqual({ epochs: c.epochs, steps: c.steps, tokens: c.tokens, earlyStop: c.earlyStop }, { epochs: null, steps: null, tokens: null, earlyStop: null, ...length });
    assert.equal(c.auxk, AUXK_ALPHA);
  }
  assert.deepEqual(saeConfig({ epochs: 7, earlyStop: { threshold: 0.01, window: 2 } }, 'corpus').earlyStop, { threshold: 0.01, window: 2 }, 'unless early stopping is given too');
  assert.equal(saeConfig({ auxk: 0 }, 'corpus').auxk, 0);
  assert.equal(saeConfig({ earlyStop: null }, 'corpus').earlyStop, null);
});

test('bad schedules are refused naming the flag', () => {
  assert.throws(() => saeConfig({ steps: 0 }), /steps must be an integer ≥ 1, got 0; pass e\.g\. --steps 1000/);
  assert.throws(() => saeConfig({ tokens: 2.5 }), /tokens must be an integer ≥ 1, got 2\.5/);
  assert.throws(() => saeConfig({ epochs: null }), /training needs a length: set epochs, steps or tokens/);
  assert.throws(() => saeConfig({ earlyStop: { threshold: -1, window: 5 } }), /early-stopping threshold must be a number ≥ 0.*--early-stop off/);
  assert.throws(() => saeConfig({ earlyStop: { threshold: 0.001, window: 0 } }), /early-stopping window must be an integer ≥ 1 \(epochs\), got 0/);
});
