import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readReport } from '../../src/core/analysis/reportFile';
import { isCancelled } from '../../src/core/errors';
import { makeTestModel } from '../../src/core/model/testModel';
import { runPipeline } from '../../src/core/pipeline';
import { saeConfig } from '../../src/core/sae/config';
import { fileRows } from '../../src/core/run/corpusFiles';
import { readRun } from '../../src/core/run/runDir';
import { tokenize } from '../../src/core/tokenizer';
import { repo, runCli, tempRoot } from '../fixtures/cli';

const root = tempRoot('cli-train-');
// Activation shards go under the cache root: keep this file's (a cancelled run leaves its own for a resume) out of the user's.
process.env.LATENT_LENS_CACHE = path.join(root, 'cache');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
const doc = path.join(root, 'doc.md');
const TEXT = fs.readFileSync(path.join(repo, 'samples', 'palinka.md'), 'utf8');
fs.writeFileSync(doc, TEXT);
const SMALL = ['--latents', '128', '--k', '8', '--epochs', '5', '--lr', '1e-3', '--threads', '1'];

function dotEntries(dir: string): string[] {
  return fs.readdirSync(dir).filter((e) => e.startsWith('.'));
}

test('train FILE on a tiny random model (default engine): progress on stderr, one-screen summary, a readable run directory', () => {
  const out = path.join(root, 'run-text');
  const r = runCli('train', doc, '--model', modelDir, ...SMALL, '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /^train \[#+\.*\] epoch 5\/5 {2}loss /m, 'plain progress lines when stderr is not a TTY');
  for (const re of [/RANDOM WEIGHTS/, /hook {6}blocks\.1\.hook_mlp_out \(d_in 64\), preset seed/, /128 latents, top-k 8/, /engine {4}ort on cpu \(1 thread\); full batch of \d+ tokens/, /ms per epoch/, /^FVE +-?\d\.\d{4}/m, /^L0 +\d+\.\d non-zero latents per token/m, /^dead +\d+\.\d % of latents never fire.*layer density \d+\.\d %/m]) {
    assert.match(r.out, re);
  }
  const [trainSummary] = r.out.split('\n\n');
  assert.ok(trainSummary.split('\n').length <= 24, 'the training summary fits one screen');
  assert.match(r.out, /Top concept-selective latents/, 'then the analysis');
  assert.match(r.out, /^report +.*report\.html$/m);
  assert.ok(fs.existsSync(path.join(out, 'analysis.json')) && fs.existsSync(path.join(out, 'report.html')));
  const run = readRun(out);
  const T = tokenize(TEXT).length;
  assert.equal(run.cfg.n_tokens, T);
  assert.equal(run.cfg.sae.hook_name, 'blocks.1.hook_mlp_out');
  assert.equal(run.cfg.model.random_weights, true);
  assert.equal(run.cfg.train?.engine, 'ort');
  assert.equal(run.metrics.curve.length, 5);
  assert.equal(run.tokens.source, doc);
  assert.equal(run.codes.rowPtr.length, T + 1);
  assert.deepEqual(dotEntries(root), []);

  // The causal evidence follows the analysis: in analysis.json, report.html and the summary, CE recovered beside FVE.
  const report = readReport(path.join(out, 'analysis.json'));
  assert.ok(report.evidence && 'fidelity' in report.evidence, JSON.stringify(report.evidence)?.slice(0, 300));
  const f = report.evidence.fidelity;
  // Recomputed from the 9-digit CEs: their rounding, amplified by 1 / (zero − clean), bounds the difference.
  const roundingBound = (1e-8 * Math.max(f.ceClean, f.ceSpliced, f.ceZeroAblation) * 2 * (1 + Math.abs(f.ceRecovered!))) / Math.abs(f.ceZeroAblation - f.ceClean);
  assert.ok(Math.abs(f.ceRecovered! - (f.ceZeroAblation - f.ceSpliced) / (f.ceZeroAblation - f.ceClean)) <= roundingBound, JSON.stringify(f).slice(0, 200));
  assert.match(trainSummary, new RegExp(`^FVE +-?\\d\\.\\d{4} +CE recovered ${f.ceRecovered!.toFixed(3).replace('.', '\\.')}`, 'm'));
  assert.match(trainSummary, /^CE +clean \d+\.\d{3}, SAE spliced in \d+\.\d{3}, zero-ablated \d+\.\d{3} nats per token$/m);
  const listed = [...report.conceptList, ...report.conceptCandidates, ...report.punctuationList].map((l) => l.latent);
  assert.deepEqual(report.evidence.latents.map((l) => l.latent), [...new Set([...report.conceptList.slice(0, 10), ...report.conceptCandidates.slice(0, 10), ...report.punctuationList.slice(0, 10)].map((l) => l.latent))]);
  assert.ok(listed.length > 0);
  assert.match(r.out, /Ablating one latent/);
  assert.match(fs.readFileSync(path.join(out, 'report.html'), 'utf8'), /<section id="evidence"><h2>Causal evidence<\/h2>[\s\S]*CE recovered/);
});

test('train --activations: trains on saved activations; a preset for another hook is a d_in mismatch', () => {
  const acts = path.join(root, 'acts.safetensors');
  const ex = runCli('extract', doc, '--model', modelDir, '--threads', '1', '--out', acts);
  assert.equal(ex.code, 0, ex.err);
  const out = path.join(root, 'run-acts');
  const r = runCli('train', '--activations', acts, ...SMALL, '--engine', 'tfjs', '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /RANDOM WEIGHTS/);
  assert.match(r.out, /engine {4}tfjs on tfjs cpu backend/);
  assert.equal(readRun(out).cfg.sae.hook_name, 'blocks.1.hook_mlp_out');
  // Saved activations do not say which model made them: no causal evidence, said plainly, the run kept.
  assert.match(r.out, /CE recovered — \(no causal evidence, see below\)/);
  assert.match(r.out, /No causal evidence: run .* does not record which model directory made it/);
  assert.ok('unavailable' in readReport(path.join(out, 'analysis.json')).evidence!);

  const bad = runCli('train', '--activations', acts, '--preset', 'course', ...SMALL, '--out', path.join(root, 'run-bad'));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /holds blocks\.1\.hook_mlp_out activations \(d_in 64\), but preset course trains on mlp\.hook_pre \(d_in 256 for this model\)/);
  assert.equal(fs.existsSync(path.join(root, 'run-bad')), false);
});

test('train --threads 0 chooses the thread count, as the editor setting does: training one per CPU', () => {
  const out = path.join(root, 'run-threads0');
  const r = runCli('train', doc, '--model', modelDir, ...SMALL, '--epochs', '1', '--threads', '0', '--out', out);
  assert.equal(r.code, 0, r.err);
  const n = os.availableParallelism();
  const device = `cpu (${n} thread${n === 1 ? '' : 's'})`;
  assert.ok(r.out.includes(`engine    ort on ${device}`), r.out);
  assert.equal(readRun(out).cfg.train?.device, device);
});

test('train: bad flags fail with exit code 2 before any work and write nothing', () => {
  const out = path.join(root, 'run-never');
  for (const [flags, re] of [
    [['--k', '0'], /k must be an integer from 1 to 127.*got 0/],
    [['--epochs', '0'], /epochs must be an integer ≥ 1, got 0/],
    [['--lr=-1'], /learning rate must be a positive number/],
    [['--latents', '0'], /number of latents must be an integer ≥ 1/],
    [['--engine', 'gpu'], /--engine must be one of auto, ort, tfjs/],
    [['--k', 'lots'], /k "lots" is neither a count/],
  ] as const) {
    const r = runCli('train', doc, '--model', modelDir, ...SMALL, ...flags, '--out', out);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(fs.existsSync(out), false);
  }
});

test('cancelling the pipeline mid-training leaves no run directory and no temp directory', async () => {
  const parent = fs.mkdtempSync(path.join(root, 'cancel-'));
  const out = path.join(parent, 'run');
  const ac = new AbortController();
  let epochs = 0;
  await assert.rejects(
    runPipeline({
      text: TEXT,
      source: doc,
      modelSpec: modelDir,
      sae: saeConfig({ latents: '128', k: '8', epochs: 100000 }),
      engine: 'tfjs',
      threads: 1,
      out,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === 'train' && p.epoch && ++epochs === 3) ac.abort();
      },
    }),
    (e: unknown) => isCancelled(e),
  );
  assert.equal(epochs, 3);
  assert.deepEqual(fs.readdirSync(parent), []);
});

test('train DIR: a corpus run with the corpus defaults; the summary lists the files, the skipped ones and what the schedule did', () => {
  const dir = path.join(root, 'corpus');
  fs.mkdirSync(path.join(dir, 'notes'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a.md'), TEXT);
  fs.writeFileSync(path.join(dir, 'notes', 'b.txt'), TEXT.split('\n').reverse().join('\n'));
  fs.writeFileSync(path.join(dir, 'data.bin'), Buffer.from([0, 1, 2, 3, 4, 5]));
  const out = path.join(root, 'run-corpus');
  const r = runCli('train', dir, '--model', modelDir, '--latents', '128', '--k', '8', '--lr', '1e-3', '--threads', '1', '--tokens', '3000', '--out', out);
  assert.equal(r.code, 0, r.err);
  const [s] = r.out.split('\n\n');
  // a.md's activations may come from the shards the cancelled run above left (the same text, model and hook).
  assert.match(s, new RegExp(`^corpus {4}${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} — 2 files, [\\d,]+ tokens \\(extracted on cpu in .*tokens/s(; [\\d,]+ tokens' activations reused from an earlier run's shards)?\\)$`, 'm'));
  assert.match(s, /^skipped {3}1 file \(1 binary\): data\.bin \(binary \(NUL bytes or mostly control characters\)\)$/m);
  assert.match(s, /AuxK α 0\.03125/, 'AuxK is on for a corpus');
  assert.match(s, /^schedule {2}3,000 tokens \(whole minibatches\): ran \d+ epochs, \d+ steps, [\d,]+ tokens; stopped by the token budget of 3,000 tokens/m);
  assert.match(r.out, /CE recovered — \(no causal evidence, see below\)/);
  assert.match(r.out, /trained on a corpus of 2 files, and the causal tests run on one document.*latent-lens apply FILE --sae/);
  assert.match(r.err, /extracting blocks\.1\.hook_mlp_out: file 2\/2/);
  const run = readRun(out);
  assert.deepEqual(run.tokens.files!.map((f) => f.path), ['a.md', 'notes/b.txt']);
  assert.deepEqual(dotEntries(root), []);

  // The corpus's SAE applies to any of its files (the per-file view), without training.
  const applied = path.join(root, 'run-applied');
  const a = runCli('apply', path.join(dir, 'a.md'), '--sae', out, '--model', modelDir, '--threads', '1', '--no-evidence', '--out', applied);
  assert.equal(a.code, 0, a.err);
  const per = readRun(applied);
  const own = run.tokens.files![0];
  assert.deepEqual(Array.from(per.codes.index), Array.from(run.codes.index.subarray(run.codes.rowPtr[own.first], run.codes.rowPtr[own.first + own.tokens])), 'the file’s codes are its codes in the corpus run');
  const values = run.codes.value.subarray(run.codes.rowPtr[own.first], run.codes.rowPtr[own.first + own.tokens]);
  per.codes.value.forEach((v, j) => assert.ok(Math.abs(v - values[j]) <= 1e-5 * Math.max(1, v), `value ${j}: ${v} vs ${values[j]}`));
  assert.deepEqual(per.tokens.tokens, fileRows(run.tokens.tokens, own), 'and its tokens, offsets within the file');
  assert.match(a.out, /^SAE {7}the SAE of run .*run-corpus\n {10}top-k 8 of 128 latents on blocks\.1\.hook_mlp_out/m);
  assert.match(a.out, new RegExp(`^note {6}.*a\\.md is a\\.md of the 2-file corpus this SAE was trained on \\(tokens 0–${own.tokens - 1} of its run\\): FVE and L0 here are in-sample\\.$`, 'm'));
  // A text outside the corpus is held out: no such note.
  const other = path.join(root, 'held-out.md');
  fs.writeFileSync(other, `${TEXT}\nOne more line.\n`);
  const h = runCli('apply', other, '--sae', out, '--model', modelDir, '--threads', '1', '--no-evidence', '--out', path.join(root, 'run-held-out'));
  assert.equal(h.code, 0, h.err);
  assert.doesNotMatch(h.out, /in-sample/);
});

test('train GLOB and several files are corpus runs too; an explicit --epochs runs exactly that many', () => {
  const dir = path.join(root, 'corpus');
  const out = path.join(root, 'run-glob');
  const r = runCli('train', `${dir}/**/*.md`, path.join(dir, 'notes', 'b.txt'), '--model', modelDir, ...SMALL, '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^schedule {2}exactly 5 epochs: ran 5 epochs, 5 steps, [\d,]+ tokens; stopped by the epoch limit of 5 epochs$/m);
  assert.deepEqual(readRun(out).tokens.files!.map((f) => f.path), ['a.md', 'notes/b.txt']);
});

test('train: bad corpus inputs fail with exit code 2, say what to do, and write nothing', () => {
  const empty = path.join(root, 'empty-dir');
  fs.mkdirSync(empty, { recursive: true });
  const binOnly = path.join(root, 'bin-only');
  fs.mkdirSync(binOnly, { recursive: true });
  fs.writeFileSync(path.join(binOnly, 'x.bin'), Buffer.from([0, 0, 0, 1]));
  const out = path.join(root, 'run-bad-corpus');
  for (const [args, re] of [
    [[empty], /the folder .*empty-dir has no files to train on \(after \.gitignore\); give a folder with text files in it\./],
    [[binOnly], /no text files to train on in .*bin-only: all 1 files listed were skipped \(1 binary\)/],
    [[`${root}/corpus/**/*.rst`], /the glob .*\*\*\/\*\.rst matches no file/],
    [[path.join(root, 'corpus'), '--max-tokens', '100'], /has more than 100 GPT-2 tokens .*the limit set by --max-tokens\. .*raise --max-tokens/],
    [[doc, '--max-tokens', '100'], /--max-tokens applies to a corpus \(a folder, a glob or several files\)/],
    [[path.join(root, 'corpus'), '--steps', '0'], /steps must be an integer ≥ 1, got 0/],
    [[path.join(root, 'corpus'), '--early-stop', 'off', '--early-stop-window', '3'], /--early-stop off turns early stopping off/],
  ] as const) {
    const r = runCli('train', ...args, '--model', modelDir, '--threads', '1', '--out', out);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(fs.existsSync(out), false);
  }
});
