import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTestModel } from '../../src/core/model/testModel';
import { saeConfig } from '../../src/core/sae/config';
import type { ProgressEvent, ScanJob } from '../../src/shared/protocol';
import { runScanJob } from '../../src/worker/jobs';
import { repo, tempRoot } from '../fixtures/cli';

const root = tempRoot('ll-scanjob-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });

test("the worker's scan job: the settings' SAE in every layer (their layer set by the scan), progress per layer, the scan view", async () => {
  const job: ScanJob = {
    jobId: 'j1',
    text: fs.readFileSync(path.join(repo, 'samples', 'palinka.md'), 'utf8'),
    source: 'file:///doc.md',
    label: 'doc.md',
    offset: 0,
    out: path.join(root, 'scan'),
    layers: 'all',
    settings: {
      sae: saeConfig({ latents: '128', k: '8', epochs: 3, layer: 1 }),
      engine: 'ort',
      modelDir,
      analysis: { lexicon: { kind: 'gazetteer' }, punctuationShare: 0.5, proxyShare: 0.3 },
      maxTokens: 4096,
      threads: 1,
    },
  };
  const events: ProgressEvent[] = [];
  const view = await runScanJob(job, new AbortController().signal, (p) => events.push(p));
  assert.equal(view.scanDir, job.out);
  assert.deepEqual([view.made, view.kept], [[0, 1], []]);
  assert.deepEqual(view.scan.rows.map((r) => [r.layer, r.hook, r.evidence]), [
    [0, 'blocks.0.hook_mlp_out', 'ok'],
    [1, 'blocks.1.hook_mlp_out', 'ok'],
  ]);
  assert.ok(events.every((e) => e.jobId === 'j1'));
  assert.ok(events.some((e) => e.phase === 'train' && e.layerScan?.layer === 1 && e.layerScan.index === 1 && e.layerScan.count === 2 && e.unit === 'epoch' && e.done === 3 && e.total === 3));
  assert.ok(events.some((e) => e.phase === 'extract' && e.message === "extracting every layer's activations (one pass for all)" && e.unit === 'token'));
  assert.ok(events.some((e) => e.phase === 'evidence' && e.layerScan?.layer === 0));
  assert.ok(events.some((e) => e.layerScan?.layer === 1 && e.layerScan.etaMs !== undefined), 'an ETA once layer 0 is done');
  const again = await runScanJob({ ...job, jobId: 'j2' }, new AbortController().signal, () => {});
  assert.deepEqual([again.made, again.kept], [[], [0, 1]], 'the same job resumes: nothing to do');
});
