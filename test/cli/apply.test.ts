import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTestModel } from '../../src/core/model/testModel';
import { readRun } from '../../src/core/run/runDir';
import { readSafetensors } from '../../src/core/safetensors';
import { repo, runCli, tempRoot } from '../fixtures/cli';

const root = tempRoot('cli-apply-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
const doc = path.join(root, 'doc.md');
fs.writeFileSync(doc, fs.readFileSync(path.join(repo, 'samples', 'palinka.md'), 'utf8'));
const trained = path.join(root, 'trained');
const t = runCli('train', doc, '--model', modelDir, '--latents', '128', '--k', '8', '--epochs', '5', '--lr', '1e-3', '--threads', '1', '--out', trained);
assert.equal(t.code, 0, t.err);

test('export --format saelens|sparsify writes the layouts; the run itself stays in its own layout', () => {
  for (const [format, weights] of [['saelens', 'sae_weights.safetensors'], ['sparsify', 'sae.safetensors']] as const) {
    const out = path.join(root, `export-${format}`);
    const r = runCli('export', trained, '--format', format, '--out', out);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(fs.readdirSync(out).sort(), ['cfg.json', weights]);
    assert.match(r.out, format === 'saelens' ? /from sae_lens import SAE\nsae = SAE\.load_from_disk\(/ : /from sparsify import Sae\nsae = Sae\.load_from_disk\(/);
    assert.equal(runCli('export', trained, '--format', format, '--out', out).code, 0, 'an earlier export is replaced');
  }
  const cfg = JSON.parse(fs.readFileSync(path.join(root, 'export-saelens', 'cfg.json'), 'utf8'));
  assert.deepEqual([cfg.architecture, cfg.d_in, cfg.d_sae, cfg.k, cfg.device, cfg.metadata.hook_name], ['topk', 64, 128, 8, 'cpu', 'blocks.1.hook_mlp_out']);
  const { tensors } = readSafetensors(path.join(root, 'export-saelens', 'sae_weights.safetensors'));
  assert.deepEqual([...tensors.keys()].sort(), ['W_dec', 'W_enc', 'b_dec', 'b_enc']);
  const own = JSON.parse(fs.readFileSync(path.join(trained, 'cfg.json'), 'utf8'));
  assert.equal(own.version, 3);
  assert.equal(JSON.stringify(own).includes('sparsify') || JSON.stringify(own).includes('SAELens'), false, "the run's cfg.json claims neither layout");
});

test('apply with an exported SAE (either layout) or the run itself encodes the document as the run did', () => {
  const want = readRun(trained);
  for (const sae of [trained, path.join(root, 'export-saelens'), path.join(root, 'export-sparsify')]) {
    const out = path.join(root, `applied-${path.basename(sae)}`);
    const r = runCli('apply', doc, '--sae', sae, '--model', modelDir, '--threads', '1', '--out', out, ...(sae === trained ? [] : ['--no-evidence']));
    assert.equal(r.code, 0, r.err);
    const evidence = JSON.parse(fs.readFileSync(path.join(out, 'analysis.json'), 'utf8')).evidence;
    if (sae === trained) {
      assert.match(r.out, /^FVE +-?\d\.\d{4} +CE recovered -?\d\.\d{3}/m, 'the causal tests of the SAE on this document, beside FVE');
      assert.match(r.out, /^CE +clean \d+\.\d{3}, SAE spliced in \d+\.\d{3}, zero-ablated/m);
      assert.ok(Math.abs(evidence.fidelity.fve - want.metrics.final.fve) < 1e-3, `the evidence's FVE ${evidence.fidelity.fve} is the run's ${want.metrics.final.fve}`);
    } else {
      assert.equal(evidence, undefined, '--no-evidence');
    }
    assert.match(r.out, /RANDOM WEIGHTS/);
    assert.match(r.out, /^SAE {7}.*\n {10}top-k 8 of 128 latents on blocks\.1\.hook_mlp_out \(d_in 64\)/m);
    assert.match(r.out, /encoded {3}on cpu \(1 thread\) in .*; no training/);
    assert.match(r.out, /Top concept-selective latents/, 'then the analysis');
    const got = readRun(out);
    assert.equal(got.cfg.train, undefined);
    assert.equal(got.cfg.sae.source.kind, 'folder');
    assert.deepEqual(got.metrics.curve, []);
    assert.deepEqual(got.codes.rowPtr, want.codes.rowPtr, sae);
    assert.deepEqual(got.codes.index, want.codes.index, sae);
    got.codes.value.forEach((v, j) => assert.ok(Math.abs(v - want.codes.value[j]) <= 1e-5 * Math.max(1, v), `${sae}: value ${j}`));
    assert.ok(Math.abs(got.metrics.final.fve - want.metrics.final.fve) < 1e-5, `${sae}: FVE ${got.metrics.final.fve} vs ${want.metrics.final.fve}`);
    assert.ok(fs.existsSync(path.join(out, 'analysis.json')));
  }
});

test('export and apply: bad flags and targets fail with exit code 2 and write nothing', () => {
  const cases: [string[], RegExp][] = [
    [['export', trained, '--format', 'onnx', '--out', path.join(root, 'x1')], /unknown export format "onnx"/],
    [['export', trained, '--out', path.join(root, 'x2')], /--format and --out are required/],
    [['export', path.join(root, 'nope'), '--format', 'saelens', '--out', path.join(root, 'x3')], /run directory .*nope does not exist/],
    [['apply', doc, '--out', path.join(root, 'x4')], /--sae is required/],
    [['apply', doc, '--sae', 'no-such-release/blocks.1', '--out', path.join(root, 'x5')], /is not a folder .* not hf:OWNER\/NAME\/PATH, and not a release of the registry \(gpt2-small-res-jb/],
    [['apply', doc, '--sae', 'hf:not a repo', '--out', path.join(root, 'x6')], /is not of the form hf:OWNER\/NAME/],
    [['apply', doc, '--sae', trained, '--layer', '3', '--out', path.join(root, 'x7')], /--layer picks an SAE of a release/],
    [['apply', doc, '--sae', 'gpt2-small-res-jb/blocks.99.hook_resid_pre', '--out', path.join(root, 'x8')], /release gpt2-small-res-jb has no SAE "blocks\.99\.hook_resid_pre"/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
  const foreign = path.join(root, 'notes');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'thesis.tex'), 'precious');
  const r = runCli('export', trained, '--format', 'saelens', '--out', foreign);
  assert.equal(r.code, 2);
  assert.match(r.err, /holds other files \(thesis\.tex\)/);
  for (const x of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8']) assert.equal(fs.existsSync(path.join(root, x)), false, x);
});
