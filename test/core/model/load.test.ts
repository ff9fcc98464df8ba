import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../src/core/errors';
import { checkFinite, loadModel, neededTensors, tensor } from '../../../src/core/model/load';
import { makeTestModel } from '../../../src/core/model/testModel';
import { readSafetensors, writeSafetensors, type Tensor } from '../../../src/core/safetensors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'll-load-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A fresh small random model (2 layers, d 16, vocab 100, 32 positions). */
function model(opts: { prefix?: boolean; seed?: number } = {}): string {
  const out = path.join(tmp, `m${n++}`);
  makeTestModel({ out, layers: 2, dModel: 16, heads: 4, seed: opts.seed ?? 0, vocab: 100, positions: 32, prefix: opts.prefix });
  return out;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const p = path.join(dir, 'config.json');
  const c = JSON.parse(fs.readFileSync(p, 'utf8'));
  edit(c);
  fs.writeFileSync(p, JSON.stringify(c));
}

function rewriteWeights(dir: string, edit: (t: Record<string, Tensor>) => void): void {
  const p = path.join(dir, 'model.safetensors');
  const t = Object.fromEntries(readSafetensors(p).tensors);
  edit(t);
  writeSafetensors(p, t);
}

function userError(re: RegExp) {
  return (e: unknown) => e instanceof UserError && re.test(e.message);
}

function floats(m: ReturnType<typeof loadModel>, name: string): Float32Array {
  const e = tensor(m, name);
  const buf = Buffer.alloc(e.end - e.begin);
  const fd = fs.openSync(m.weightsPath, 'r');
  fs.readSync(fd, buf, 0, buf.length, e.begin);
  fs.closeSync(fd);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

test('loads a generated model without and with the transformer. prefix; both hold the same weights', () => {
  const plain = loadModel(model());
  const pref = loadModel(model({ prefix: true }));
  assert.equal(plain.prefix, '');
  assert.equal(pref.prefix, 'transformer.');
  assert.deepEqual(plain.config, { nLayer: 2, nHead: 4, nEmbd: 16, nPositions: 32, vocabSize: 100, layerNormEpsilon: 1e-5, activation: 'gelu_new' });
  assert.equal(plain.randomWeights, true);
  assert.equal(plain.label, 'random test model (seed 0) — RANDOM WEIGHTS');
  assert.ok(pref.header.tensors.has('transformer.h.1.mlp.c_fc.weight'));
  assert.ok(plain.header.tensors.has('h.0.attn.bias'), 'the extra causal-mask buffer is in the file and ignored');
  for (const { name, shape } of neededTensors(plain.config)) {
    assert.deepEqual(tensor(plain, name).shape, shape);
    assert.deepEqual(tensor(pref, name).shape, shape);
  }
  const c = tensor(plain, 'h.1.attn.c_attn.weight');
  assert.equal(c.end - c.begin, 16 * 48 * 4);
  assert.deepEqual(floats(plain, 'h.1.attn.c_attn.weight'), floats(pref, 'h.1.attn.c_attn.weight'));
  checkFinite(plain);
  checkFinite(pref);
});

test('extra tensors (lm_head.weight, attn.masked_bias) are ignored', () => {
  const dir = model();
  rewriteWeights(dir, (t) => {
    t['lm_head.weight'] = { dtype: 'F16', shape: [2], data: new Uint8Array(4) };
    t['h.0.attn.masked_bias'] = { dtype: 'F32', shape: [], data: new Float32Array([-1e4]) };
  });
  assert.equal(loadModel(dir).prefix, '');
});

test('a model directory without the latent_lens marker is labelled as a real model', () => {
  const dir = model();
  editConfig(dir, (c) => delete c.latent_lens);
  const m = loadModel(dir);
  assert.equal(m.randomWeights, false);
  assert.match(m.label, /^GPT-2-style model m\d+ \(2 layers, d=16\)$/);
});

test('config.json: n_ctx stands in for n_positions; epsilon and activation have GPT-2 defaults', () => {
  const dir = model();
  editConfig(dir, (c) => {
    delete c.n_positions;
    delete c.layer_norm_epsilon;
    delete c.activation_function;
  });
  const m = loadModel(dir);
  assert.equal(m.config.nPositions, 32);
  assert.equal(m.config.layerNormEpsilon, 1e-5);
  assert.equal(m.config.activation, 'gelu_new');
});

test('bad input: missing directory, config.json or model.safetensors', () => {
  assert.throws(() => loadModel(path.join(tmp, 'nope')), userError(/does not exist/));
  const a = model();
  fs.rmSync(path.join(a, 'config.json'));
  assert.throws(() => loadModel(a), userError(/has no config\.json.*model\.safetensors/));
  const b = model();
  fs.rmSync(path.join(b, 'model.safetensors'));
  assert.throws(() => loadModel(b), userError(/has no model\.safetensors/));
  fs.mkdirSync(path.join(b, 'model.safetensors'));
  assert.throws(() => loadModel(b), userError(/cannot read .*model\.safetensors/));
});

test('bad input: config.json that is not JSON, not GPT-2, or not sane', () => {
  const dir = model();
  fs.writeFileSync(path.join(dir, 'config.json'), '{"n_layer": 2,');
  assert.throws(() => loadModel(dir), userError(/config\.json is not valid JSON/));
  for (const [edit, re] of [
    [(c: Record<string, unknown>) => (c.model_type = 'bert'), /"bert" model; Latent Lens runs GPT-2 models only/],
    [(c: Record<string, unknown>) => delete c.n_head, /"n_head" is missing/],
    [(c: Record<string, unknown>) => (c.n_layer = 0), /"n_layer" is 0/],
    [(c: Record<string, unknown>) => (c.n_layer = '2'), /"n_layer" is "2"/],
    [(c: Record<string, unknown>) => (c.n_head = 3), /n_embd 16 is not divisible by n_head 3/],
    [(c: Record<string, unknown>) => (c.layer_norm_epsilon = -1), /layer_norm_epsilon/],
  ] as const) {
    const d = model();
    editConfig(d, edit);
    assert.throws(() => loadModel(d), userError(re));
  }
});

test('bad input: config.json inconsistent with the tensor shapes names the tensor and both shapes', () => {
  const a = model();
  editConfig(a, (c) => (c.n_positions = 64));
  assert.throws(() => loadModel(a), userError(/tensor "wpe\.weight" .* has shape \[32, 16\], but config\.json .* implies \[64, 16\]/));
  const b = model({ prefix: true });
  editConfig(b, (c) => (c.vocab_size = 50257));
  assert.throws(() => loadModel(b), userError(/tensor "transformer\.wte\.weight" .* has shape \[100, 16\], .* implies \[50257, 16\]/));
  const c = model();
  editConfig(c, (j) => (j.n_layer = 3));
  assert.throws(() => loadModel(c), userError(/has no tensor "h\.2\.ln_1\.weight"/));
  const d = model();
  editConfig(d, (j) => ((j.n_embd = 32), (j.n_head = 4)));
  assert.throws(() => loadModel(d), userError(/tensor "wte\.weight" .* \[100, 16\], .* implies \[100, 32\]/));
});

test('bad input: a missing tensor is named', () => {
  const dir = model({ prefix: true });
  rewriteWeights(dir, (t) => delete t['transformer.h.1.mlp.c_proj.bias']);
  assert.throws(() => loadModel(dir), userError(/has no tensor "transformer\.h\.1\.mlp\.c_proj\.bias"/));
});

test('bad input: a non-F32 tensor is named with its dtype', () => {
  const dir = model();
  rewriteWeights(dir, (t) => {
    const f = t['h.0.ln_2.weight'];
    t['h.0.ln_2.weight'] = { dtype: 'F16', shape: f.shape, data: new Uint8Array(f.shape[0] * 2) };
  });
  assert.throws(() => loadModel(dir), userError(/tensor "h\.0\.ln_2\.weight" .* is F16; Latent Lens needs float32 \(F32\)/));
});

test('bad input: truncated model.safetensors', () => {
  const dir = model();
  const p = path.join(dir, 'model.safetensors');
  fs.truncateSync(p, Math.floor(fs.statSync(p).size / 2));
  assert.throws(() => loadModel(dir), userError(/not a valid safetensors file: .*truncated/));
  fs.truncateSync(p, 5);
  assert.throws(() => loadModel(dir), userError(/not a valid safetensors file/));
});

test('bad input: corrupt safetensors header', () => {
  const a = model();
  const pa = path.join(a, 'model.safetensors');
  const fd = fs.openSync(pa, 'r+');
  fs.writeSync(fd, Buffer.from('#garbage#'), 0, 9, 8);
  fs.closeSync(fd);
  assert.throws(() => loadModel(a), userError(/header is not JSON/));
  const b = model();
  const pb = path.join(b, 'model.safetensors');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(1n << 60n);
  const fdb = fs.openSync(pb, 'r+');
  fs.writeSync(fdb, len, 0, 8, 0);
  fs.closeSync(fdb);
  assert.throws(() => loadModel(b), userError(/header length .* exceeds the file/));
});

function poke(m: ReturnType<typeof loadModel>, name: string, index: number, value: number): void {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  const fd = fs.openSync(m.weightsPath, 'r+');
  fs.writeSync(fd, b, 0, 4, tensor(m, name).begin + index * 4);
  fs.closeSync(fd);
}

test('bad input: NaN and Inf in weights are found and the tensor named', () => {
  const a = loadModel(model());
  poke(a, 'h.1.mlp.c_fc.weight', 77, NaN);
  assert.throws(() => checkFinite(a), userError(/tensor "h\.1\.mlp\.c_fc\.weight" .* contains NaN at flat index 77/));
  assert.throws(() => checkFinite(a), userError(/h\.1\.mlp\.c_fc\.weight/), 'a failed scan is not remembered');
  const b = loadModel(model({ prefix: true }));
  poke(b, 'ln_f.bias', 3, -Infinity);
  poke(b, 'h.0.attn.c_proj.weight', 0, Infinity);
  assert.throws(() => checkFinite(b), userError(/tensor "transformer\.h\.0\.attn\.c_proj\.weight" .* contains Infinity at flat index 0/), 'the first bad tensor in file order');
});

test('checkFinite remembers a clean scan by file size and mtime', () => {
  const m = loadModel(model());
  const t = new Date('2026-01-02T03:04:05Z');
  fs.utimesSync(m.weightsPath, t, t);
  checkFinite(m);
  assert.ok(fs.existsSync(path.join(m.dir, '.latent-lens-finite.json')));
  poke(m, 'wpe.weight', 5, NaN);
  fs.utimesSync(m.weightsPath, t, t);
  checkFinite(m); // same size and mtime: the stamp says clean, no scan
  const later = new Date('2026-01-02T03:04:06Z');
  fs.utimesSync(m.weightsPath, later, later);
  assert.throws(() => checkFinite(m), userError(/tensor "wpe\.weight" .* contains NaN/), 'a changed mtime scans again');
});
