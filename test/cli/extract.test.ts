import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extractActivations } from '../../src/core/extract';
import { loadModel } from '../../src/core/model/load';
import { makeTestModel } from '../../src/core/model/testModel';
import { readSafetensors } from '../../src/core/safetensors';
import { tokenize } from '../../src/core/tokenizer';
import { runCli, tempRoot } from '../fixtures/cli';

const root = tempRoot('cli-extract-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
const doc = path.join(root, 'doc.md');
const TEXT = 'Pálinka is distilled from fermented fruit (plums, apricots) in Hungary — "the real thing".\n';
fs.writeFileSync(doc, TEXT);

const cli = (...args: string[]) => runCli('extract', ...args);

test('extract --out x.json: default hook blocks.{n_layer/2}.hook_mlp_out, tokens with offsets, [T, d] activations', async () => {
  const out = path.join(root, 'a.json');
  const r = cli(doc, '--model', modelDir, '--threads', '1', '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /RANDOM WEIGHTS/);
  assert.match(r.out, /blocks\.1\.hook_mlp_out \[\d+, 64\] on cpu in \d+ ms/);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  const tokens = tokenize(TEXT);
  assert.equal(j.hook, 'blocks.1.hook_mlp_out');
  assert.equal(j.layer, 1);
  assert.equal(j.provider, 'cpu');
  assert.equal(j.random_weights, true);
  assert.match(j.model, /random test model/);
  assert.deepEqual(j.shape, [tokens.length, 64]);
  assert.deepEqual(j.tokens, tokens);
  const want = (await extractActivations(TEXT, loadModel(modelDir), ['blocks.1.hook_mlp_out'], { threads: 1 })).acts.get('blocks.1.hook_mlp_out')!;
  assert.equal(j.activations.length, tokens.length);
  assert.deepEqual(Float32Array.from(j.activations.flat()), want, 'JSON numbers read back as the same float32 values');
});

test('extract --out x.safetensors with --layer filling a bare hook name', () => {
  const out = path.join(root, 'a.safetensors');
  const r = cli(doc, '--model', modelDir, '--layer', '0', '--hook', 'mlp.hook_post', '--out', out);
  assert.equal(r.code, 0, r.err);
  const { header, tensors } = readSafetensors(out);
  const tokens = tokenize(TEXT);
  assert.deepEqual(tensors.get('activations')!.shape, [tokens.length, 256]);
  assert.equal(tensors.get('activations')!.dtype, 'F32');
  assert.equal(tensors.get('token_ids')!.dtype, 'I64');
  assert.deepEqual([...(tensors.get('token_ids')!.data as BigInt64Array)].map(Number), tokens.map((t) => t.id));
  assert.deepEqual(JSON.parse(header.metadata.tokens), tokens);
  assert.equal(header.metadata.hook, 'blocks.0.mlp.hook_post');
  assert.equal(header.metadata.layer, '0');
  assert.equal(header.metadata.random_weights, 'true');
  assert.ok(['cpu', 'cuda'].includes(header.metadata.provider));
});

test('extract: bad input exits 2 with a message saying what to do', () => {
  const out = path.join(root, 'b.json');
  const cases: [string[], RegExp][] = [
    [[doc, '--model', modelDir, '--hook', 'blocks.0.hook_attn', '--out', out], /unknown hook.*valid hooks/],
    [[doc, '--model', modelDir, '--layer', '5', '--out', out], /layer 5 .*out of range.*0 to 1/],
    [[doc, '--model', modelDir, '--out', path.join(root, 'b.txt')], /\.json or \.safetensors/],
    [[doc, '--model', modelDir], /--out is required/],
    [[path.join(root, 'missing.md'), '--model', modelDir, '--out', out], /cannot read .*missing\.md/],
  ];
  const blank = path.join(root, 'blank.md');
  fs.writeFileSync(blank, ' \n\n ');
  cases.push([[blank, '--model', modelDir, '--out', out], /nothing to tokenize/]);
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
  assert.equal(fs.existsSync(out), false);
});
