import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/core/errors';
import { HOOK_KINDS, parseHook } from '../../src/core/hooks';
import type { Gpt2Config } from '../../src/core/model/config';

const config: Gpt2Config = { nLayer: 12, nHead: 12, nEmbd: 768, nPositions: 1024, vocabSize: 50257, layerNormEpsilon: 1e-5, activation: 'gelu_new' };

test('full names parse with their layer, kind and width', () => {
  assert.deepEqual(parseHook('blocks.6.hook_mlp_out', config), { name: 'blocks.6.hook_mlp_out', layer: 6, kind: 'hook_mlp_out', width: 768, order: 47 });
  assert.equal(parseHook('blocks.2.hook_attn_out', config).width, 768);
  assert.equal(parseHook('blocks.2.hook_resid_mid', config).width, 768);
  assert.equal(parseHook('blocks.0.mlp.hook_pre', config).width, 3072);
  assert.equal(parseHook('blocks.11.mlp.hook_post', config).width, 3072);
  assert.equal(parseHook('blocks.11.hook_resid_post', config).width, 768);
  assert.equal(parseHook('blocks.3.hook_resid_pre', config).width, 768);
});

test('forward order: resid_pre < attn_out < resid_mid < mlp.hook_pre < mlp.hook_post < hook_mlp_out < resid_post < next layer', () => {
  const orders = [0, 1].flatMap((L) => HOOK_KINDS.map((k) => parseHook(`blocks.${L}.${k}`, config).order));
  assert.deepEqual(orders, [...orders].sort((a, b) => a - b));
  assert.equal(new Set(orders).size, orders.length);
});

test('--layer fills a name without a layer; the fallback applies only when neither gives one', () => {
  assert.equal(parseHook('hook_mlp_out', config, 3).name, 'blocks.3.hook_mlp_out');
  assert.equal(parseHook('blocks.{L}.mlp.hook_post', config, 2).name, 'blocks.2.mlp.hook_post');
  assert.equal(parseHook('mlp.hook_pre', config, undefined, 6).name, 'blocks.6.mlp.hook_pre');
  assert.equal(parseHook('blocks.4.hook_mlp_out', config, undefined, 6).layer, 4);
  assert.equal(parseHook('blocks.4.hook_mlp_out', config, 4).layer, 4);
});

test('unknown hook: UserError listing the valid hooks and layers', () => {
  for (const bad of ['blocks.6.attn.hook_z', 'hook_mlp', 'blocks.x.hook_mlp_out', '']) {
    assert.throws(() => parseHook(bad, config, 6), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /unknown hook/);
      for (const k of HOOK_KINDS) assert.ok(e.message.includes(`blocks.{L}.${k}`), e.message);
      assert.match(e.message, /0 to 11/);
      return true;
    });
  }
});

test('layer out of range, missing or contradicting --layer: UserError naming the valid range', () => {
  for (const [spec, layer] of [['blocks.12.hook_mlp_out', undefined], ['hook_mlp_out', 12], ['hook_mlp_out', -1], ['hook_mlp_out', 2.5]] as const) {
    assert.throws(() => parseHook(spec, config, layer), (e: unknown) => e instanceof UserError && /out of range.*0 to 11/.test(e.message));
  }
  assert.throws(() => parseHook('hook_mlp_out', config), (e: unknown) => e instanceof UserError && /no layer.*--layer/.test(e.message));
  assert.throws(() => parseHook('blocks.4.hook_mlp_out', config, 5), (e: unknown) => e instanceof UserError && /layer 4 but --layer is 5/.test(e.message));
});
