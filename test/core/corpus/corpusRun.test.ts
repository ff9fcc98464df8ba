import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCorpus } from '../../../src/core/corpus/list';
import { CORPUS_MAX_FILE_BYTES } from '../../../src/core/corpus/scan';
import { textSha256 } from '../../../src/core/corpus/text';
import { isCancelled, UserError } from '../../../src/core/errors';
import { extractActivations } from '../../../src/core/extract';
import { loadModel } from '../../../src/core/model/load';
import { makeTestModel } from '../../../src/core/model/testModel';
import { runPipeline, type PipelineOptions } from '../../../src/core/pipeline';
import { readRun } from '../../../src/core/run/runDir';
import { saeConfig } from '../../../src/core/sae/config';
import { trainSae } from '../../../src/core/sae/train';
import { tokenize } from '../../../src/core/tokenizer';
import { repo, tempRoot } from '../../fixtures/cli';

const root = tempRoot('corpus-run-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0, positions: 64 });
const SAMPLE = fs.readFileSync(path.join(repo, 'samples', 'palinka.md'), 'utf8');

/** Four text files of different lengths (the longest spans several 64-token windows), a binary one and an empty one. */
function corpusDir(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a.md'), SAMPLE);
  fs.writeFileSync(path.join(dir, 'b.txt'), 'Vienna and Budapest lie on the Danube. The river flows into the Black Sea.');
  fs.writeFileSync(path.join(dir, 'sub', 'c.md'), SAMPLE.split('\n').reverse().join('\n'));
  fs.writeFileSync(path.join(dir, 'sub', 'd.md'), `${SAMPLE.slice(0, 400)}\n\nPrague, Bratislava and Warsaw are capitals too.`);
  fs.writeFileSync(path.join(dir, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]));
  fs.writeFileSync(path.join(dir, 'empty.md'), '\n');
  return dir;
}

const LIMITS = { maxTokens: { value: 100_000, setting: '--max-tokens' }, maxFileBytes: { value: CORPUS_MAX_FILE_BYTES, setting: '--max-file-bytes' } };
/** Small: 128 latents, k 8, a few epochs of shuffled 100-token minibatches across the files. */
const SAE = saeConfig({ latents: '128', k: '8', lr: 1e-3, epochs: 3, batchTokens: 100 }, 'corpus');

function corpusRun(dir: string, extra: Partial<PipelineOptions> & { out: string }): ReturnType<typeof runPipeline> {
  return runPipeline({ corpus: { ...listCorpus([dir]), limits: LIMITS }, modelSpec: modelDir, sae: SAE, threads: 1, shardsDir: path.join(root, `${path.basename(extra.out)}.shards`), ...extra });
}

test('a corpus run records each token’s file and offsets, with each file’s sha256; binary and empty files are skipped and listed', async () => {
  const dir = corpusDir('mapping');
  const out = path.join(root, 'run-mapping');
  const r = await corpusRun(dir, { out });
  const run = readRun(out);
  const t = run.tokens;
  assert.equal(t.source, dir);
  assert.deepEqual(t.files!.map((f) => f.path), ['a.md', 'b.txt', 'sub/c.md', 'sub/d.md']);
  assert.deepEqual(t.skipped!.map((s) => [s.path, s.why]), [['empty.md', 'empty'], ['logo.png', 'binary']]);
  let first = 0;
  for (const f of t.files!) {
    const text = fs.readFileSync(path.join(dir, f.path), 'utf8');
    assert.equal(f.sha256, textSha256(text));
    assert.equal(f.first, first, `${f.path}: its tokens follow the previous file's`);
    const mine = t.tokens.slice(f.first, f.first + f.tokens);
    assert.deepEqual(mine.map((k) => k.id), tokenize(text).map((k) => k.id), `${f.path}: its tokens, offsets within the file`);
    for (const k of mine) assert.equal(text.slice(k.start, k.end), k.text);
    first += f.tokens;
  }
  assert.equal(run.cfg.n_tokens, first);
  assert.equal(r.corpus?.files, 4);
  assert.equal(r.extract?.extracted, first);
  assert.equal(r.extract?.reused, 0);
  assert.equal(fs.existsSync(path.join(root, 'run-mapping.shards')), false, 'a run that succeeds removes its shards');
  // The corpus defaults: AuxK on; --epochs 3 runs exactly 3 epochs (no early stopping, no budget).
  assert.equal(run.cfg.train?.auxk, 1 / 32);
  assert.deepEqual([run.cfg.train?.epochs, run.cfg.train?.tokens, run.cfg.train?.early_stop], [3, null, null]);
  assert.equal(run.metrics.curve.length, 3);
  assert.match(run.metrics.batching!, /^7 shuffled minibatches of ≤ 91 tokens per epoch/);
});

test('each file is extracted as its own document: its windows restart, so its rows equal a one-file extraction', async () => {
  const dir = corpusDir('windows');
  const out = path.join(root, 'run-windows');
  const model = loadModel(modelDir);
  await corpusRun(dir, { out, sae: { ...SAE, epochs: 1 } });
  const run = readRun(out);
  const c = run.tokens.files!.find((f) => f.path === 'sub/c.md')!;
  assert.ok(c.tokens > 64, 'the file spans several windows of the 64-position model');
  // Train the same SAE on that file alone, in memory, and on the corpus's rows of it via a one-file corpus: the same W.
  const text = fs.readFileSync(path.join(dir, c.path), 'utf8');
  const x = (await extractActivations(text, model, [run.cfg.sae.hook_name], { threads: 1 })).acts.get(run.cfg.sae.hook_name)!;
  const single = path.join(root, 'single');
  fs.mkdirSync(single);
  fs.copyFileSync(path.join(dir, c.path), path.join(single, 'c.md'));
  const cfg = { ...SAE, epochs: 2 };
  await corpusRun(single, { out: path.join(root, 'run-single'), sae: cfg, residentBytes: 0 });
  const viaShards = readRun(path.join(root, 'run-single'));
  await corpusRun(single, { out: path.join(root, 'run-single-resident'), sae: cfg });
  const heldInMemory = readRun(path.join(root, 'run-single-resident'));
  const inMemory = await trainSae(x, c.tokens, 64, { dIn: 64, nLatents: 128, k: 8 }, cfg, { threads: 1 });
  assert.deepEqual(viaShards.sae.wEnc, inMemory.w, 'streaming from shards trains exactly as from memory');
  assert.deepEqual(heldInMemory.sae.wEnc, inMemory.w, 'so does reading the shards into memory once');
});

test('a document run is the special case of one file: the presets exactly, the same SAE as training in memory', async () => {
  const out = path.join(root, 'run-doc');
  const cfg = saeConfig({ latents: '128', k: '8', lr: 1e-3, epochs: 4 });
  assert.equal(cfg.auxk, 0);
  await runPipeline({ text: SAMPLE, source: 'palinka.md', modelSpec: modelDir, sae: cfg, out, threads: 1, shardsDir: path.join(root, 'doc.shards') });
  const run = readRun(out);
  assert.equal(run.tokens.files, undefined);
  assert.equal(run.tokens.source, 'palinka.md');
  const x = (await extractActivations(SAMPLE, loadModel(modelDir), [run.cfg.sae.hook_name], { threads: 1 })).acts.get(run.cfg.sae.hook_name)!;
  const mem = await trainSae(x, run.cfg.n_tokens, 64, { dIn: 64, nLatents: 128, k: 8 }, cfg, { threads: 1 });
  assert.deepEqual(run.sae.wEnc, mem.w);
  assert.deepEqual(Array.from(run.codes.index), Array.from(mem.codes.index));
  assert.equal(run.metrics.schedule?.stopped, 'epochs');
});

test('resume: a run cancelled after some shards reuses them and ends bit-identical to an uninterrupted run with the same seed', async () => {
  const dir = corpusDir('resume');
  // Shards of 40 rows: a file has several, and the cancel lands in the middle of one.
  const small = { shardBytes: 40 * 4 * 64 };
  const whole = await corpusRun(dir, { out: path.join(root, 'run-whole'), ...small });
  const reference = readRun(path.join(root, 'run-whole'));

  const out = path.join(root, 'run-resumed');
  const shards = path.join(root, 'resume.shards');
  const ac = new AbortController();
  let inC = 0;
  await assert.rejects(
    corpusRun(dir, {
      out,
      shardsDir: shards,
      ...small,
      signal: ac.signal,
      onProgress: (p) => {
        // After the first 64-token window of sub/c.md: its first shard is written, its second half done.
        if (p.phase === 'extract' && p.corpus?.path === 'sub/c.md' && ++inC === 2) ac.abort();
      },
    }),
    (e: unknown) => isCancelled(e),
  );
  assert.equal(fs.existsSync(out), false, 'no run directory');
  const kept = fs.readdirSync(shards);
  const files = reference.tokens.files!;
  const shardsOf = (n: number) => Math.ceil(n / 40);
  assert.equal(kept.length, shardsOf(files[0].tokens) + shardsOf(files[1].tokens) + 1, `a.md's and b.txt's shards and the first of sub/c.md: ${kept}`);
  assert.ok(kept.every((n) => /^[0-9a-f]{24}-\d+\.safetensors$/.test(n)), `whole shards only: ${kept}`);

  const resumed = await corpusRun(dir, { out, shardsDir: shards, ...small });
  assert.equal(resumed.extract!.reused, files[0].tokens + files[1].tokens + 40, JSON.stringify(resumed.extract));
  assert.equal(resumed.extract!.reused + resumed.extract!.extracted, whole.nTokens);
  const again = readRun(out);
  assert.deepEqual(again.sae.wEnc, reference.sae.wEnc, 'W bit-identical');
  assert.deepEqual(again.codes, reference.codes, 'codes bit-identical');
  assert.deepEqual(again.metrics.curve.map(({ ms: _, ...m }) => m), reference.metrics.curve.map(({ ms: _, ...m }) => m));
  assert.equal(fs.existsSync(shards), false);
});

test('bad input: files that change or vanish during extraction are skipped and said so; the rest trains', async () => {
  const dir = corpusDir('changing');
  const out = path.join(root, 'run-changing');
  let touched = false;
  const r = await corpusRun(dir, {
    out,
    onProgress: (p) => {
      if (!touched && p.phase === 'extract' && p.corpus?.path === 'a.md') {
        touched = true;
        fs.appendFileSync(path.join(dir, 'sub', 'c.md'), '\nA new line.');
        fs.rmSync(path.join(dir, 'b.txt'));
      }
    },
  });
  const skipped = readRun(out).tokens.skipped!;
  assert.deepEqual(skipped.map((s) => [s.path, s.why]), [['empty.md', 'empty'], ['logo.png', 'binary'], ['b.txt', 'vanished'], ['sub/c.md', 'changed']]);
  assert.match(skipped[2].detail, /no longer exists \(since it was listed\)/);
  assert.match(skipped[3].detail, /changed since it was listed/);
  assert.deepEqual(readRun(out).tokens.files!.map((f) => f.path), ['a.md', 'sub/d.md']);
  assert.equal(r.corpus?.skipped.length, 4);
});

test('bad input: the disk fills up while writing shards — a clear error, no half-written shard or run; the run resumes afterwards', async () => {
  const dir = corpusDir('full');
  const out = path.join(root, 'run-full');
  const shards = path.join(root, 'full.shards');
  // The module object itself (the namespace import is a copy of its bindings): what the product's fs calls go through.
  const nodeFs = require('node:fs') as typeof fs;
  const realWrite = nodeFs.writeSync;
  let shardWrites = 0;
  const writes = mock.method(nodeFs, 'writeSync', function (this: unknown, ...a: Parameters<typeof fs.writeSync>) {
    // The second shard's first write fails as a full disk does.
    if (++shardWrites === 4) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return (realWrite as (...x: unknown[]) => number).apply(this, a);
  });
  try {
    await assert.rejects(corpusRun(dir, { out, shardsDir: shards }), (e: unknown) => e instanceof UserError && e.code === 'E_OUTPUT' && /cannot write an activation shard of b\.txt in .*full\.shards: the disk is full\. The shards written so far are whole and will be reused; free some disk space and run the same command again to resume\./.test(e.message));
  } finally {
    writes.mock.restore();
  }
  assert.equal(fs.existsSync(out), false);
  assert.deepEqual(fs.readdirSync(shards).filter((n) => n.startsWith('.')), [], 'no temp file left');
  assert.equal(fs.readdirSync(shards).length, 1, 'the first file’s shard, whole');
  const r = await corpusRun(dir, { out, shardsDir: shards });
  assert.ok(r.extract!.reused > 0);
});
