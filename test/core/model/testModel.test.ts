import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../src/core/errors';
import { loadModel } from '../../../src/core/model/load';
import { makeTestModel } from '../../../src/core/model/testModel';
import { makeTestModelCommand } from '../../../src/cli/makeTestModel';
import { readSafetensors } from '../../../src/core/safetensors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'll-testmodel-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function stats(a: Float32Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (const v of a) (s += v), (s2 += v * v);
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean) };
}

test('writes the Hugging Face GPT-2 layout with the real vocabulary by default', () => {
  const out = path.join(tmp, 'default');
  makeTestModel({ out, layers: 2, dModel: 64, heads: 4, seed: 0 });
  const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.deepEqual(
    { ...config, architectures: undefined },
    { activation_function: 'gelu_new', architectures: undefined, bos_token_id: 50256, eos_token_id: 50256, initializer_range: 0.02, layer_norm_epsilon: 1e-5, model_type: 'gpt2', n_ctx: 1024, n_embd: 64, n_head: 4, n_layer: 2, n_positions: 1024, vocab_size: 50257, latent_lens: { random_weights: true, seed: 0 } },
  );
  const m = loadModel(out);
  assert.equal(m.header.tensors.get('wte.weight')?.shape[0], 50257);
  assert.deepEqual(m.header.tensors.get('h.1.attn.bias')?.shape, [1, 1, 1024, 1024]);
  assert.equal(m.header.dataStart % 8, 0, 'tensor data starts 8-byte aligned');
  assert.equal(fs.existsSync(path.join(out, 'model.safetensors.part')), false);
});

test('weights are seeded, GPT-2-like, and exercise every parameter', () => {
  const opts = { layers: 1, dModel: 32, heads: 2, vocab: 300, positions: 16 };
  const a = path.join(tmp, 'a');
  const b = path.join(tmp, 'b');
  const c = path.join(tmp, 'c');
  makeTestModel({ out: a, seed: 7, ...opts });
  makeTestModel({ out: b, seed: 7, ...opts });
  makeTestModel({ out: c, seed: 8, ...opts });
  const fa = fs.readFileSync(path.join(a, 'model.safetensors'));
  assert.ok(fa.equals(fs.readFileSync(path.join(b, 'model.safetensors'))), 'same seed, same bytes');
  assert.ok(!fa.equals(fs.readFileSync(path.join(c, 'model.safetensors'))), 'another seed, other weights');

  const t = readSafetensors(path.join(a, 'model.safetensors')).tensors;
  const f = (name: string) => t.get(name)!.data as Float32Array;
  const wte = stats(f('wte.weight'));
  assert.ok(Math.abs(wte.mean) < 0.002 && Math.abs(wte.std - 0.02) < 0.001, `wte ~ N(0, 0.02²): ${JSON.stringify(wte)}`);
  const ln = stats(f('h.0.ln_1.weight'));
  assert.ok(Math.abs(ln.mean - 1) < 0.05 && ln.std > 0.05 && ln.std < 0.15, `layer-norm weights near 1: ${JSON.stringify(ln)}`);
  for (const bias of ['h.0.ln_2.bias', 'h.0.attn.c_attn.bias', 'h.0.mlp.c_fc.bias', 'ln_f.bias']) {
    assert.ok(f(bias).every((v) => v !== 0) && stats(f(bias)).std < 0.04, `${bias} is small and non-zero`);
  }
  const mask = f('h.0.attn.bias');
  for (const [i, j] of [[0, 0], [3, 2], [2, 3], [15, 15], [0, 15]]) assert.equal(mask[i * 16 + j], j <= i ? 1 : 0);
});

test('bad options are rejected', () => {
  const out = path.join(tmp, 'bad');
  assert.throws(() => makeTestModel({ out, layers: 1, dModel: 30, heads: 4, seed: 0 }), (e) => e instanceof UserError && /divisible/.test(e.message));
  assert.throws(() => makeTestModel({ out, layers: 0, dModel: 8, heads: 2, seed: 0 }), (e) => e instanceof UserError && /--layers must be an integer ≥ 1/.test(e.message));
  assert.throws(() => makeTestModel({ out, layers: 1, dModel: 8, heads: 2, seed: 1.5 }), (e) => e instanceof UserError && /--seed/.test(e.message));
});

test('make-test-model command', async () => {
  const out = path.join(tmp, 'cli');
  const log = console.log;
  const lines: string[] = [];
  console.log = (s: string) => lines.push(s);
  try {
    await makeTestModelCommand.run(['--out', out, '--layers', '1', '--d-model', '8', '--heads', '2', '--seed', '3', '--positions', '16', '--vocab', '50', '--prefix']);
  } finally {
    console.log = log;
  }
  const m = loadModel(out);
  assert.equal(m.prefix, 'transformer.');
  assert.deepEqual([m.config.nLayer, m.config.nEmbd, m.config.nHead, m.config.nPositions, m.config.vocabSize], [1, 8, 2, 16, 50]);
  assert.match(m.label, /seed 3\) — RANDOM WEIGHTS/);
  assert.match(lines.join('\n'), /RANDOM WEIGHTS/);
  await assert.rejects(makeTestModelCommand.run(['--layers', '1']), (e) => e instanceof UserError && /--out DIR is required/.test(e.message));
  await assert.rejects(makeTestModelCommand.run(['--out', out, '--heads', 'x']), (e) => e instanceof UserError && /--heads must be a number/.test(e.message));
});
