import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReport } from '../../src/core/analysis/reportFile';
import { makeTestModel } from '../../src/core/model/testModel';
import { readRun, RUN_FILES } from '../../src/core/run/runDir';
import { readSafetensors, writeSafetensors } from '../../src/core/safetensors';
import { repo, runCli, tempRoot } from '../fixtures/cli';

const root = tempRoot('cli-evidence-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 32, heads: 2, seed: 0 });
const doc = path.join(root, 'doc.md');
fs.writeFileSync(doc, fs.readFileSync(path.join(repo, 'samples', 'palinka.md'), 'utf8'));
const SMALL = ['--latents', '64', '--k', '8', '--epochs', '3', '--lr', '1e-3', '--threads', '1', '--permutations', '100'];

function train(name: string, ...extra: string[]): string {
  const out = path.join(root, name);
  const r = runCli('train', doc, '--model', modelDir, ...SMALL, ...extra, '--out', out);
  assert.equal(r.code, 0, r.err);
  return out;
}

const run = train('run');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('train records the model directory in cfg.json as an absolute path', () => {
  assert.equal(readRun(run).cfg.model.dir, path.resolve(modelDir));
});

test('evidence RUNDIR --json: the exact shape, for the top latents of the analysis lists', () => {
  const r = runCli('evidence', run, '--json', '--threads', '1');
  assert.equal(r.code, 0, r.err);
  const e = JSON.parse(r.out);
  const T = readRun(run).cfg.n_tokens;
  for (const key of ['ceClean', 'ceSpliced', 'ceZeroAblation', 'ceRecovered']) assert.equal(typeof e.fidelity[key], 'number', key);
  assert.ok(Math.abs(e.fidelity.ceClean - mean(e.fidelity.perPosition.clean)) < 1e-6);
  assert.ok(Math.abs(e.fidelity.ceRecovered - (e.fidelity.ceZeroAblation - e.fidelity.ceSpliced) / (e.fidelity.ceZeroAblation - e.fidelity.ceClean)) < 1e-4);
  const report = readReport(path.join(run, 'analysis.json'));
  const want = [...new Set([...report.conceptList.slice(0, 10), ...report.conceptCandidates.slice(0, 10), ...report.punctuationList.slice(0, 10)].map((l) => l.latent))];
  assert.ok(want.length > 0);
  assert.deepEqual(e.latents.map((l: { latent: number }) => l.latent), want);
  for (const l of e.latents) {
    assert.equal(l.logits.top.length, 10);
    assert.equal(l.logits.bottom.length, 10);
    for (const t of [...l.logits.top, ...l.logits.bottom]) assert.deepEqual(Object.keys(t), ['id', 'token', 'value']);
    assert.ok(l.logits.top[0].value >= l.logits.top[9].value && l.logits.bottom[0].value <= l.logits.bottom[9].value, JSON.stringify(l.logits));
    assert.equal(l.ablation.perPosition.length, T - 1);
    assert.ok(Math.abs(l.ablation.meanDeltaLoss - mean(l.ablation.perPosition)) < 1e-5, `${l.ablation.meanDeltaLoss} vs ${mean(l.ablation.perPosition)}`);
    assert.equal(l.ablation.maxDeltaLoss, Math.max(...l.ablation.perPosition));
  }
  assert.equal(e.randomWeights, true);
});

test('evidence --latent J… names the latents; the text output says CE recovered and RANDOM WEIGHTS', () => {
  const r = runCli('evidence', run, '--latent', '3', '--latent', '5', '--json', '--threads', '1');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).latents.map((l: { latent: number }) => l.latent), [3, 5]);
  const text = runCli('evidence', run, '--latent', '3', '--threads', '1');
  assert.equal(text.code, 0, text.err);
  for (const re of [/RANDOM WEIGHTS/, /CE clean \d+\.\d{4}, spliced \(SAE reconstruction\) \d+\.\d{4}, zero-ablated \d+\.\d{4} — CE recovered -?\d+\.\d{3}, FVE -?\d+\.\d{3}/, /^latent 3 \(fires on \d+ tokens\): ablated, mean ΔCE/m, /promotes/]) {
    assert.match(text.out, re);
  }
});

test('a run from mlp.hook_pre: logits omitted with the reason, the ablation still there', () => {
  const pre = train('run-pre', '--hook', 'mlp.hook_pre');
  const r = runCli('evidence', pre, '--latent', '0', '--json', '--threads', '1');
  assert.equal(r.code, 0, r.err);
  const [l] = JSON.parse(r.out).latents;
  assert.match(l.logits.omitted, /mlp\.hook_pre .*no linear path to the logits/);
  assert.equal(typeof l.ablation.meanDeltaLoss, 'number');
});

test('bad input: a latent out of range, a model that was moved (the error names it)', () => {
  const out = runCli('evidence', run, '--latent', '64');
  assert.equal(out.code, 2);
  assert.match(out.err, /latent 64 is out of range: this SAE has 64 latents, numbered 0 to 63/);
  assert.equal(runCli('evidence', run, '--latent', 'x').code, 2);

  const moved = `${modelDir}-moved`;
  fs.renameSync(modelDir, moved);
  try {
    const r = runCli('evidence', run, '--latent', '1');
    assert.equal(r.code, 2);
    assert.ok(r.err.includes(`the model directory ${path.resolve(modelDir)} that made run ${run} (cfg.json model.dir) cannot be loaded`), r.err);
    assert.match(r.err, /pass --model DIR/);
    assert.equal(runCli('evidence', run, '--latent', '1', '--model', moved, '--json', '--threads', '1').code, 0, '--model finds it');
  } finally {
    fs.renameSync(moved, modelDir);
  }
});

test('bad input: NaN in the spliced forward: a clear error, nothing printed or written', () => {
  const bad = path.join(root, 'run-nan');
  fs.cpSync(run, bad, { recursive: true });
  const file = path.join(bad, RUN_FILES.sae);
  const { tensors, header } = readSafetensors(file);
  (tensors.get('W_dec')!.data as Float32Array).fill(NaN);
  writeSafetensors(file, Object.fromEntries(tensors), header.metadata);
  const before = fs.readdirSync(bad).map((f) => [f, fs.statSync(path.join(bad, f)).mtimeMs]);
  const r = runCli('evidence', bad, '--json', '--threads', '1');
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.match(r.err, /spliced .* is NaN at token 0: .*nothing was written/);
  assert.deepEqual(fs.readdirSync(bad).map((f) => [f, fs.statSync(path.join(bad, f)).mtimeMs]), before);
});
