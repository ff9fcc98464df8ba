import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { planWindows } from '../../../src/core/extract';
import { parseHook } from '../../../src/core/hooks';
import { loadModel } from '../../../src/core/model/load';
import { makeTestModel } from '../../../src/core/model/testModel';
import { saeInput } from '../../../src/core/sae/input';
import { END_OF_TEXT_ID, tokenize } from '../../../src/core/tokenizer';
import { tempRoot } from '../../fixtures/cli';
import { naiveGpt2 } from '../reference/gpt2Naive';

const root = tempRoot('ll-sae-input-');
makeTestModel({ out: path.join(root, 'ctx32'), layers: 2, dModel: 32, heads: 2, seed: 7, positions: 32 });
const model = loadModel(path.join(root, 'ctx32'));
const tokens = tokenize('Pálinka is a fruit brandy made in Hungary, Transylvania (Romania) and four Austrian provinces; the EU protects the name "pálinka". Plums, apricots and pears are mashed, fermented and distilled twice.');
const T = tokens.length;

function assertRowClose(got: Float32Array, want: ArrayLike<number>, what: string): void {
  const scale = Math.max(...Array.from(want, Math.abs));
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * scale, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

test('with prepend_bos every window runs as [BOS, its tokens] and the BOS row is dropped', async () => {
  const hook = parseHook('blocks.1.hook_resid_post', model.config);
  const site = { prependBos: true, centred: false };
  const { acts } = await saeInput(tokens, model, hook, site, { threads: 1 });
  const windows = planWindows(T, model.config.nPositions - 1);
  assert.ok(windows.length >= 2, `${T} tokens in ${windows.length} windows`);
  assert.equal(acts.length, T * hook.width);
  for (const w of windows) {
    const ref = naiveGpt2(model, [END_OF_TEXT_ID, ...tokens.slice(w.start, w.end).map((t) => t.id)], 1).get(hook.name)!;
    for (let t = w.keepFrom; t < w.end; t++) {
      const r = t - w.start + 1; // after BOS
      assertRowClose(acts.subarray(t * hook.width, (t + 1) * hook.width), ref.subarray(r * hook.width, (r + 1) * hook.width), `token ${t}`);
    }
  }
});

test("centring subtracts each token's mean over d_model on residual and output hooks, and leaves the MLP's hidden hooks", async () => {
  const ref = naiveGpt2(model, tokens.slice(0, 20).map((t) => t.id), 1);
  const few = tokens.slice(0, 20);
  for (const [name, centres] of [['blocks.1.hook_resid_pre', true], ['blocks.0.hook_attn_out', true], ['blocks.1.hook_resid_mid', true], ['blocks.0.hook_mlp_out', true], ['blocks.1.hook_resid_post', true], ['blocks.1.mlp.hook_pre', false], ['blocks.0.mlp.hook_post', false]] as const) {
    const hook = parseHook(name, model.config);
    const { acts } = await saeInput(few, model, hook, { prependBos: false, centred: true }, { threads: 1 });
    const raw = ref.get(name)!;
    for (let t = 0; t < few.length; t++) {
      const row = Array.from(raw.subarray(t * hook.width, (t + 1) * hook.width));
      const mean = row.reduce((a, b) => a + b, 0) / hook.width;
      assertRowClose(acts.subarray(t * hook.width, (t + 1) * hook.width), centres ? row.map((v) => v - mean) : row, `${name} token ${t}`);
    }
  }
});
