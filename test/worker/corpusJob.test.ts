// The worker's corpus training request over its JSON-RPC connection: a real worker process
// (src/worker/main.ts through tsx), a tiny random GPT-2 and a folder of a few files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { ANALYSIS_FILE } from '../../src/core/analysis/types';
import { textSha256 } from '../../src/core/corpus/text';
import { makeTestModel } from '../../src/core/model/testModel';
import { saeConfig } from '../../src/core/sae/config';
import { corpusFileView } from '../../src/shared/corpusView';
import { ActivationsRequest, CancelNotification, CANCELLED_RPC_CODE, CorpusTrainRequest, ProgressNotification, USER_ERROR_RPC_CODE, type CorpusJob, type JobErrorData, type ProgressEvent } from '../../src/shared/protocol';

const repo = path.join(__dirname, '..', '..');
const TEXT = fs.readFileSync(path.join(repo, 'samples', 'palinka.md'), 'utf8');
let tmp: string;
let modelDir: string;
let corpus: string;
let worker: { child: ChildProcess; conn: MessageConnection; events: ProgressEvent[] };
let jobs = 0;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-corpus-job-'));
  modelDir = path.join(tmp, 'model');
  makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
  corpus = path.join(tmp, 'notes');
  const files: Record<string, string | Buffer> = {
    'a.md': TEXT,
    'sub/b.txt': TEXT.split('\n').reverse().join('\n'),
    'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]),
    'build/out.md': 'excluded by a files.exclude pattern',
    'c.rst': 'not included',
  };
  for (const [rel, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(corpus, rel)), { recursive: true });
    fs.writeFileSync(path.join(corpus, rel), data);
  }
  const child = fork(path.join(repo, 'src/worker/main.ts'), [String(process.pid)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, LATENT_LENS_CACHE: path.join(tmp, 'cache') },
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  const events: ProgressEvent[] = [];
  conn.onNotification(ProgressNotification, (p) => events.push(p));
  conn.listen();
  worker = { child, conn, events };
});

after(() => {
  worker.conn.dispose();
  worker.child.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function corpusJob(over: Partial<CorpusJob> = {}): CorpusJob {
  return {
    jobId: `job-${jobs++}`,
    inputs: [corpus],
    include: ['**/*.md', '**/*.txt', '**/*.png'],
    exclude: ['**/build'],
    globNames: { include: 'latentLens.corpus.include', exclude: 'latentLens.corpus.exclude or files.exclude' },
    limits: { maxTokens: { value: 200_000, setting: 'latentLens.corpus.maxTokens' }, maxFileBytes: { value: 1 << 20, setting: 'latentLens.corpus.maxFileBytes' } },
    label: 'the folder notes',
    out: path.join(tmp, `run-${jobs}`),
    settings: {
      sae: saeConfig({ latents: '128', k: '8', epochs: 3 }, 'corpus'),
      engine: 'ort',
      modelDir,
      analysis: { lexicon: { kind: 'gazetteer' }, punctuationShare: 0.5, proxyShare: 0.3 },
      maxTokens: 10,
      threads: 1,
    },
    ...over,
  };
}

async function rejection(p: Promise<unknown>): Promise<ResponseError<JobErrorData>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ResponseError, String(e));
    return e as ResponseError<JobErrorData>;
  }
  throw new Error('expected the request to fail');
}

test('a corpus job trains on the folder’s text files (globs, files.exclude) with progress over files and tokens, and returns the run with its files and skipped files', async () => {
  const job = corpusJob();
  const view = await worker.conn.sendRequest(CorpusTrainRequest, job);
  const events = worker.events.filter((e) => e.jobId === job.jobId);
  assert.deepEqual([...new Set(events.map((e) => e.phase))], ['scan', 'load', 'extract', 'train', 'write', 'analyze']);
  const extracting = events.filter((e) => e.phase === 'extract' && e.unit === 'token');
  const last = extracting.at(-1)!;
  assert.deepEqual([last.done, last.total], [view.tokens.tokens.length, view.tokens.tokens.length], 'tokens of all files');
  assert.ok(extracting.some((e) => /^extracting blocks\.1\.hook_mlp_out activations: file 2 of 2 \(sub\/b\.txt\)$/.test(e.message)), 'which file of how many');
  for (let i = 1; i < extracting.length; i++) assert.ok(extracting[i].done! >= extracting[i - 1].done!, 'tokens only grow');
  assert.ok(events.some((e) => e.phase === 'scan' && e.unit === 'file' && e.total === 3), 'reading the 3 files listed');
  assert.deepEqual(view.tokens.files!.map((f) => [f.path, f.sha256]), [['a.md', textSha256(TEXT)], ['sub/b.txt', textSha256(TEXT.split('\n').reverse().join('\n'))]]);
  assert.deepEqual(view.tokens.skipped!.map((s) => [s.path, s.why]), [['logo.png', 'binary']]);
  assert.equal(view.tokens.source, corpus);
  assert.equal(view.cfg.train?.auxk, 1 / 32, 'the corpus defaults');
  assert.equal(view.metrics.curve.length, 3);
  assert.ok(view.tokens.tokens.length > 10, 'settings.maxTokens, the one-document cap, does not apply');
  assert.equal(view.analysis.perToken.latents.length, view.tokens.tokens.length);
  assert.ok(fs.existsSync(path.join(job.out, ANALYSIS_FILE)));

  // Opening sub/b.txt shows its tokens' latents from this run: the view of that file, and a latent's activations on it.
  const b = corpusFileView(view, textSha256(TEXT.split('\n').reverse().join('\n')))!;
  assert.equal(b.corpusFile!.path, 'sub/b.txt');
  const latent = b.analysis.perToken.latents[0][0];
  const all = await worker.conn.sendRequest(ActivationsRequest, { runDir: view.runDir, latent });
  const part = await worker.conn.sendRequest(ActivationsRequest, { runDir: view.runDir, latent, range: { first: b.corpusFile!.first, tokens: b.corpusFile!.tokens } });
  assert.deepEqual(part, all.slice(b.corpusFile!.first, b.corpusFile!.first + b.corpusFile!.tokens));
  assert.ok(Math.abs(part[0] - b.analysis.perToken.values[0][0]) <= 1e-5 * part[0]);
  const outside = await rejection(worker.conn.sendRequest(ActivationsRequest, { runDir: view.runDir, latent, range: { first: all.length - 1, tokens: 2 } }));
  assert.equal(outside.data?.code, 'E_RUN');
});

test('cancelling a corpus job ends it as cancelled and leaves no run directory; the worker stays usable', async () => {
  const job = corpusJob({ settings: { ...corpusJob().settings, sae: saeConfig({ latents: '128', k: '8', epochs: 100000 }, 'corpus') } });
  const done = rejection(worker.conn.sendRequest(CorpusTrainRequest, job));
  const t0 = Date.now();
  while (!worker.events.some((e) => e.jobId === job.jobId && e.phase === 'train')) {
    assert.ok(Date.now() - t0 < 60_000, 'training starts');
    await new Promise((r) => setTimeout(r, 20));
  }
  await worker.conn.sendNotification(CancelNotification, { jobId: job.jobId });
  const e = await done;
  assert.equal(e.code, CANCELLED_RPC_CODE);
  assert.equal(fs.existsSync(job.out), false);
  const again = corpusJob();
  assert.ok((await worker.conn.sendRequest(CorpusTrainRequest, again)).tokens.files!.length === 2);
});

test('bad corpus input: user errors that name the settings, nothing written', async () => {
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  const cases: [Partial<CorpusJob>, string, RegExp][] = [
    [{ inputs: [empty] }, 'E_EMPTY', /the folder .*empty has no files to train on \(after \.gitignore, latentLens\.corpus\.include/],
    [{ include: ['**/*.tex'] }, 'E_EMPTY', /latentLens\.corpus\.include \*\*\/\*\.tex, latentLens\.corpus\.exclude or files\.exclude \*\*\/build/],
    [{ include: ['**/*.png'] }, 'E_EMPTY', /no text files to train on .*\(1 binary\)/],
    [{ limits: { ...corpusJob().limits, maxTokens: { value: 100, setting: 'latentLens.corpus.maxTokens' } } }, 'E_TOO_MANY_TOKENS', /more than 100 GPT-2 tokens .*raise latentLens\.corpus\.maxTokens/],
  ];
  for (const [over, code, re] of cases) {
    const job = corpusJob(over);
    const e = await rejection(worker.conn.sendRequest(CorpusTrainRequest, job));
    assert.equal(e.code, USER_ERROR_RPC_CODE, e.message);
    assert.equal(e.data?.code, code, e.message);
    assert.match(e.message, re);
    assert.equal(fs.existsSync(job.out), false);
  }
});
