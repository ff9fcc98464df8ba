import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReport } from '../../src/core/analysis/reportFile';
import type { StabilityReport } from '../../src/core/analysis/stability';
import { makeTestModel } from '../../src/core/model/testModel';
import { repo, runCli, tempRoot } from '../fixtures/cli';

const root = tempRoot('cli-stability-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
const doc = path.join(root, 'doc.md');
fs.copyFileSync(path.join(repo, 'samples', 'palinka.md'), doc);
const SMALL = ['--latents', '128', '--k', '8', '--epochs', '3', '--threads', '1', '--engine', 'tfjs', '--permutations', '100'];

const cli = (...args: string[]) => runCli('stability', ...args);

test('stability FILE --seeds 2 trains two SAEs, analyses each, and reports decoder-cosine recurrence', () => {
  const out = path.join(root, 'stab');
  const r = cli(doc, '--model', modelDir, '--seeds', '2', '--seed', '4', ...SMALL, '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /seed 4 \(1\/2\): training/);
  assert.match(r.err, /seed 5 \(2\/2\): training/);
  assert.match(r.out, /RANDOM WEIGHTS/);
  assert.match(r.out, /seeds 4, 5: 128 latents on d_in 64; concept "geography"/);
  assert.match(r.out, /of 10 compared latents \(\d+ %\) recur in every other seed \(\d+ of them significant\); per seed: 5: \d+ %/);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'stability.json'), 'utf8')) as StabilityReport;
  assert.deepEqual(s.seeds, [4, 5]);
  assert.equal(s.threshold, 0.9);
  assert.equal(s.latents.length, 10);
  for (const l of s.latents) assert.ok(l.matches[0].cos <= 1 + 1e-6 && l.matches[0].cos > -1);
  for (const seed of [4, 5]) assert.equal(readReport(path.join(out, `seed-${seed}`, 'analysis.json')).run.seed, seed);
  // Rerunning into the same folder is allowed; a folder with other files is not.
  const taken = path.join(root, 'busy');
  fs.mkdirSync(taken);
  fs.writeFileSync(path.join(taken, 'notes.txt'), 'mine');
  const refused = cli(doc, '--model', modelDir, '--seeds', '2', ...SMALL, '--out', taken);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /--out .*busy holds other files \(notes\.txt\)/);
});

test('stability refuses bad flags before any training', () => {
  assert.match(cli(doc, '--seeds', '1').err, /--seeds must be an integer from 2 to 100, got 1/);
  assert.match(cli(doc, '--threshold', '2').err, /--threshold is a cosine in \(−1, 1\], got 2/);
  assert.match(cli(path.join(root, 'absent.md')).err, /cannot read .*absent\.md: ENOENT/);
  assert.match(cli(doc, '--lexicon', 'course', '--concept', doc).err, /--lexicon course applies to the built-in concept/);
});
