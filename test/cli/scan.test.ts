import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTestModel } from '../../src/core/model/testModel';
import type { ScanJson } from '../../src/core/scan/format';
import { repo, runCli, tempRoot } from '../fixtures/cli';

const root = tempRoot('cli-scan-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
const doc = path.join(root, 'doc.md');
fs.writeFileSync(doc, fs.readFileSync(path.join(repo, 'samples', 'palinka.md'), 'utf8'));
const SMALL = ['--model', modelDir, '--latents', '128', '--k', '8', '--epochs', '5', '--lr', '1e-3', '--threads', '1'];

test('scan FILE: progress per layer, the table across layers, scan.json and a run directory per layer; again: nothing to do', () => {
  const out = path.join(root, 'scan');
  const r = runCli('scan', doc, ...SMALL, '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /^layer 0 \(1\/2\) {2}extracting 2 layers \(0, 1\) of .*doc\.md \(\d+ tokens\) in one pass$/m);
  assert.match(r.err, /^layer 1 \(2\/2\) {2}train \[#+\.*\] epoch 5\/5 .* \(all: ETA .*\)$/m);
  assert.match(r.out, /RANDOM WEIGHTS/);
  assert.match(r.out, /^scan {6}.*doc\.md — \d+ tokens; made 2 \(0, 1\) in .* \(one extraction on cpu: /m);
  assert.match(r.out, /^layers 0, 1 done of 2 requested; blocks\.\{L\}\.hook_mlp_out, trained, preset seed, seed 0$/m);
  assert.match(r.out, /^ +layer +FVE +L0 +dead +CE recovered +significant +best latent +its effect +its q +punct\.-firing +proxies$/m);
  assert.match(r.out, /^ +0 +-?\d\.\d{3} +8\.0 +\d+\.\d % +-?\d\.\d{3} +\d+ /m);
  const scan = JSON.parse(fs.readFileSync(path.join(out, 'scan.json'), 'utf8')) as ScanJson;
  assert.deepEqual(scan.rows.map((x) => x.dir), ['layer-0', 'layer-1']);
  assert.equal(scan.rows[0].evidence, 'ok');
  for (const L of [0, 1]) for (const f of ['cfg.json', 'sae.safetensors', 'latents.safetensors', 'metrics.json', 'tokens.json', 'analysis.json', 'report.html']) assert.ok(fs.existsSync(path.join(out, `layer-${L}`, f)), `layer-${L}/${f}`);

  const again = runCli('scan', doc, ...SMALL, '--out', out);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /kept 2 from before/);
  assert.doesNotMatch(again.err, /train \[/);
});

test('scan: bad flags fail before any work with exit 2 and a message that says what to give', () => {
  const out = path.join(root, 'bad');
  for (const [args, re] of [
    [['--hook-template', 'blocks.6.hook_mlp_out'], /hook template "blocks\.6\.hook_mlp_out" has no \{L\}/],
    [['--layers', '0,9'], /layer 9 \(--layers 0,9\) is out of range: this model has 2 layers/],
    [['--layers', 'some'], /--layers "some": "some" is neither a layer/],
    [['--layer', '1'], /Unknown option '--layer'/],
    [['--sae-release', 'gpt2-small-res-jb', '--epochs', '3'], /--epochs shapes a trained SAE; with --sae-release each layer's SAE is the release's\. Drop --epochs\./],
    [['--sae-release', 'nope'], /--sae-release nope is not a release of the registry/],
  ] as const) {
    const release = args[0] === '--sae-release';
    const r = runCli('scan', doc, ...(release ? ['--model', modelDir] : SMALL), ...args, '--out', out);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
  assert.equal(fs.existsSync(out), false, 'nothing written');
});

test('scan DIR: one extraction of the corpus for every layer, each layer a corpus run equal to `train DIR` for that layer alone; a release needs one FILE', () => {
  const dir = path.join(root, 'corpus');
  fs.mkdirSync(path.join(dir, 'notes'), { recursive: true });
  const text = fs.readFileSync(doc, 'utf8');
  fs.writeFileSync(path.join(dir, 'a.md'), text);
  fs.writeFileSync(path.join(dir, 'notes', 'b.txt'), text.split('\n').reverse().join('\n'));
  fs.writeFileSync(path.join(dir, 'data.bin'), Buffer.from([0, 1, 2, 3, 4, 5]));
  const corpusFlags = ['--model', modelDir, '--latents', '128', '--k', '8', '--lr', '1e-3', '--threads', '1', '--tokens', '3000'];
  const out = path.join(root, 'scan-corpus');
  const r = runCli('scan', dir, ...corpusFlags, '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /^layer 0 \(1\/2\) {2}extracting 2 layers \(0, 1\) of 2 files \(\d+ tokens\) in one pass$/m);
  assert.match(r.err, /extracting 2 layers \(0, 1\): file 2\/2/);
  assert.match(r.out, /^corpus {4}.*corpus — 2 files \(1 skipped, listed in each layer's tokens\.json\), \d+ tokens; made 2 \(0, 1\)/m);
  assert.match(r.out, /layer 0: no CE recovered — .*trained on a corpus of 2 files, and the causal tests run on one document/);
  const scan = JSON.parse(fs.readFileSync(path.join(out, 'scan.json'), 'utf8')) as ScanJson;
  assert.equal(scan.settings.source, dir);
  assert.deepEqual(scan.rows.map((x) => x.layer), [0, 1]);
  const tokens = JSON.parse(fs.readFileSync(path.join(out, 'layer-1', 'tokens.json'), 'utf8'));
  assert.deepEqual(tokens.files.map((f: { path: string }) => f.path), ['a.md', 'notes/b.txt']);
  assert.deepEqual(tokens.skipped.map((f: { path: string }) => f.path), ['data.bin']);

  // The same corpus defaults (AuxK, token budget) and seed as train: layer 1 is train's run of layer 1.
  const trained = path.join(root, 'train-corpus-1');
  const t = runCli('train', dir, ...corpusFlags, '--layer', '1', '--out', trained);
  assert.equal(t.code, 0, t.err);
  for (const f of ['sae.safetensors', 'latents.safetensors', 'cfg.json', 'tokens.json']) assert.ok(fs.readFileSync(path.join(trained, f)).equals(fs.readFileSync(path.join(out, 'layer-1', f))), f);

  // Resumed: nothing to extract or train.
  const again = runCli('scan', dir, ...corpusFlags, '--out', out);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /kept 2 from before/);
  assert.doesNotMatch(again.err, /extracting|train \[/);

  const rel = runCli('scan', dir, '--model', modelDir, '--sae-release', 'gpt2-small-res-jb', '--out', path.join(root, 'scan-corpus-release'));
  assert.equal(rel.code, 2, rel.err);
  assert.match(rel.err, /--sae-release scans one FILE, as `latent-lens apply` does/);
  assert.equal(fs.existsSync(path.join(root, 'scan-corpus-release')), false);
});
