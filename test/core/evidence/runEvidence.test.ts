import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../../src/core/errors';
import { runEvidence, topLatents } from '../../../src/core/evidence/runEvidence';
import { makeTestModel } from '../../../src/core/model/testModel';
import { runPipeline } from '../../../src/core/pipeline';
import { saeConfig } from '../../../src/core/sae/config';
import { readRun } from '../../../src/core/run/runDir';
import { tempRoot } from '../../fixtures/cli';

const root = tempRoot('run-evidence-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 32, heads: 2, seed: 0 });
const TEXT = 'Pálinka is a fruit brandy from Hungary, Romania and Austria; plums, apricots and pears are fermented, then distilled twice.';
const out = path.join(root, 'run');
const trained = runPipeline({ text: TEXT, source: 'doc.txt', modelSpec: modelDir, sae: saeConfig({ latents: '32', k: '4', epochs: 3, lr: 1e-3 }), out, threads: 1 });
const SELECTION = { ranked: [[5, 3, 9], [3, 7]], conceptTokens: [8, 10] };
const OPTS = { ...SELECTION, threads: 1 };

test('the top latents of each ranked list, each once, in list order', () => {
  assert.deepEqual(topLatents([[5, 3, 9], [3, 7]], 2), [5, 3, 7]);
  assert.deepEqual(topLatents([[5, 3, 9], [3, 7]], 10), [5, 3, 9, 7]);
  assert.deepEqual(topLatents([[1, 2]], 0), []);
  assert.throws(() => topLatents([[1]], -1), UserError);
});

test('runEvidence: the model from cfg.json model.dir, the top latents, FVE as at training, concept and punctuation groups', async () => {
  await trained;
  const run = readRun(out);
  assert.equal(run.cfg.model.dir, path.resolve(modelDir));
  const e = await runEvidence(run, { ...OPTS, top: 2 });
  assert.deepEqual(e.latents.map((l) => l.latent), [5, 3, 7]);
  assert.ok(Math.abs(e.fidelity.fve - run.metrics.final.fve) < 1e-4, `${e.fidelity.fve} vs ${run.metrics.final.fve}`);
  assert.equal(e.latents[0].ablation.conceptNext.positions, 2, 'tokens 8 and 10 are predicted at positions 7 and 9');
  const punctuation = run.tokens.tokens.slice(1).filter((t) => /^[\s\p{P}\p{S}]+$/u.test(t.text)).length;
  assert.equal(e.latents[0].ablation.punctuationNext.positions, punctuation);
  assert.equal(e.randomWeights, true);
});

test('bad input: a moved model names its directory; another model of the same shape; a run without model.dir; a latent out of range', async () => {
  await trained;
  const run = readRun(out);
  const moved = `${modelDir}-moved`;
  fs.renameSync(modelDir, moved);
  try {
    await assert.rejects(runEvidence(run, OPTS), (e: unknown) => e instanceof UserError && e.message.includes(`the model directory ${path.resolve(modelDir)} that made run ${out} (cfg.json model.dir) cannot be loaded: model directory ${path.resolve(modelDir)} does not exist.`) && /pass --model DIR/.test(e.message));
    assert.equal((await runEvidence(run, { ...OPTS, latents: [1], modelDir: moved })).latents.length, 1, 'modelDir overrides cfg.json');
  } finally {
    fs.renameSync(moved, modelDir);
  }
  const other = path.join(root, 'other');
  makeTestModel({ out: other, layers: 2, dModel: 32, heads: 2, seed: 1 });
  await assert.rejects(runEvidence(run, { ...OPTS, latents: [1], modelDir: other }), (e: unknown) => e instanceof UserError && /with FVE .* but reached FVE .*: that is not the model/.test(e.message));
  const wide = path.join(root, 'wide');
  makeTestModel({ out: wide, layers: 2, dModel: 64, heads: 2, seed: 0 });
  await assert.rejects(runEvidence(run, { ...OPTS, latents: [1], modelDir: wide }), (e: unknown) => e instanceof UserError && /blocks\.1\.hook_mlp_out of width 64, but the run's SAE reads d_in 32/.test(e.message));

  const { dir: _, ...model } = run.cfg.model;
  await assert.rejects(runEvidence({ ...run, cfg: { ...run.cfg, model } }, OPTS), (e: unknown) => e instanceof UserError && /does not record which model directory made it/.test(e.message));
  await assert.rejects(runEvidence(run, { ...OPTS, latents: [32] }), (e: unknown) => e instanceof UserError && /latent 32 is out of range: this SAE has 32 latents/.test(e.message));
});
