// The host ↔ worker protocol end to end: a real worker process (src/worker/main.ts through tsx),
// a tiny random GPT-2 (2 layers, d 64, 4 heads) and small SAEs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { ANALYSIS_FILE, ANALYSIS_VERSION } from '../../../src/core/analysis/types';
import { makeTestModel } from '../../../src/core/model/testModel';
import { saeConfig, type SaeOverrides } from '../../../src/core/sae/config';
import { saeLensFiles } from '../../../src/core/sae/formats/saelens';
import { randomSae } from '../../fixtures/saeModels';
import type { JobSettings, ProgressEvent, TrainJob } from '../../../src/shared/protocol';
import { JobFailure, WorkerClient, type Log } from '../../../src/editor/worker/client';

const root = path.join(__dirname, '..', '..', '..');
const workerPath = path.join(root, 'src/worker/main.ts');
const TEXT = 'Pálinka is a fruit brandy from Hungary (and Romania, Austria, Slovakia). It is distilled twice, in copper stills; "naught" else.';

let tmp: string;
let modelDir: string;
let outCount = 0;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-worker-'));
  modelDir = path.join(tmp, 'model');
  makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function settings(over: SaeOverrides = {}, rest: Partial<JobSettings> = {}): JobSettings {
  return {
    sae: saeConfig({ latents: '128', k: '8', epochs: 3, ...over }),
    engine: 'ort',
    modelDir,
    analysis: { lexicon: { kind: 'gazetteer' }, punctuationShare: 0.5, proxyShare: 0.3 },
    maxTokens: 4096,
    threads: 1,
    ...rest,
  };
}

function job(s: JobSettings, text = TEXT): Omit<TrainJob, 'jobId'> {
  return { text, source: 'untitled:Untitled-1', label: 'Untitled-1', offset: 0, out: path.join(tmp, `run-${outCount++}`), settings: s };
}

interface Logged extends Log {
  lines: string[];
}
function memoryLog(): Logged {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

function client(idleMs = 60_000, log: Log = memoryLog()): WorkerClient {
  return new WorkerClient({ workerPath, execArgv: ['--import', 'tsx'], idleTimeoutMs: () => idleMs, log });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

async function failure(p: Promise<unknown>): Promise<JobFailure> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof JobFailure, `a JobFailure, got ${String(e)}`);
    return e;
  }
  throw new Error('expected the job to fail');
}

test('an apply job encodes with an SAE folder, no training, and a bad SAE is a user failure', async () => {
  const sae = path.join(tmp, 'sae');
  fs.mkdirSync(sae);
  for (const [f, data] of Object.entries(saeLensFiles(randomSae({ dIn: 64, dSae: 96, activation: 'topk', k: 5, site: { hookName: 'blocks.1.hook_mlp_out' } })))) fs.writeFileSync(path.join(sae, f), data);
  const c = client();
  try {
    const events: ProgressEvent[] = [];
    const started = await c.apply('doc', { ...job(settings()), sae: { spec: sae } }, (p) => events.push(p));
    const view = await started.done;
    assert.deepEqual([...new Set(events.map((e) => e.phase))], ['load', 'tokenize', 'extract', 'encode', 'write', 'analyze'], 'a local SAE and model are loaded, not downloaded');
    assert.equal(view.cfg.train, undefined);
    assert.deepEqual(view.cfg.sae.source, { kind: 'folder', path: sae, format: 'saelens' });
    assert.deepEqual(view.metrics.curve, []);
    assert.equal(view.analysis.perToken.latents.length, view.tokens.tokens.length);
    const f = await failure((await c.apply('doc', { ...job(settings()), sae: { spec: path.join(tmp, 'no-such-sae') } }, () => undefined)).done);
    assert.equal(f.kind, 'user');
    assert.equal(f.code, 'E_SAE');
    assert.match(f.message, /is not a folder .* not hf:OWNER\/NAME\/PATH/);
  } finally {
    await c.dispose();
  }
});

test('a job streams progress and returns the run; the worker then answers activations and reanalyze', async () => {
  const c = client();
  try {
    const events: ProgressEvent[] = [];
    const started = await c.train('doc', job(settings()), (p) => events.push(p));
    assert.equal(started.replaced, false);
    const view = await started.done;
    const phases = [...new Set(events.map((e) => e.phase))];
    assert.deepEqual(phases, ['load', 'extract', 'train', 'write', 'analyze'], 'the pipeline tokenizes as it extracts');
    assert.ok(events.every((e) => !e.message.includes(tmp)), 'no paths of the run directory or the model in progress lines');
    // At most one message per 200 ms between a phase's first and last (worker/throttle.ts): these epochs take microseconds.
    const epochs = events.filter((e) => e.phase === 'train' && e.unit === 'epoch');
    assert.ok(epochs.length >= 1 && epochs.every((e, i) => i === 0 || e.done! > epochs[i - 1].done!), 'epochs in order');
    assert.equal(epochs[epochs.length - 1].done, 3, 'the last epoch is always sent');
    assert.ok(epochs.every((e) => e.total === 3 && Number.isFinite(e.loss)));
    assert.equal(epochs[epochs.length - 1].etaMs, 0);
    const extracted = events.filter((e) => e.phase === 'extract' && e.unit === 'token');
    assert.deepEqual(extracted.map((e) => [e.done, e.total]).slice(-1), [[view.tokens.tokens.length, view.tokens.tokens.length]], 'extraction counts its tokens');
    assert.ok(events.every((e) => e.jobId === started.jobId));

    const T = view.tokens.tokens.length;
    assert.ok(T > 20);
    assert.equal(view.cfg.sae.d_sae, 128);
    assert.equal(view.cfg.model.random_weights, true);
    assert.equal(view.analysis.version, ANALYSIS_VERSION);
    assert.equal(view.analysis.perToken.latents.length, T);
    assert.ok(fs.existsSync(path.join(view.runDir, ANALYSIS_FILE)));

    const top = view.analysis.perToken.latents[0][0];
    const acts = await c.activations({ runDir: view.runDir, latent: top });
    assert.equal(acts.length, T);
    assert.ok(Math.abs(acts[0] - view.analysis.perToken.values[0][0]) <= 1e-5 * acts[0], 'the report rounds to 6 digits');
    const bad = await failure(c.activations({ runDir: view.runDir, latent: 128 }));
    assert.equal(bad.kind, 'user');

    const report = await c.reanalyze({ runDir: view.runDir, analysis: { lexicon: { kind: 'course' }, punctuationShare: 0.5, proxyShare: 0.3 } });
    assert.equal(report.concept.lexicon.name, 'course');
    assert.equal(JSON.parse(fs.readFileSync(path.join(view.runDir, ANALYSIS_FILE), 'utf8')).concept.lexicon.name, 'course');
  } finally {
    await c.dispose();
  }
});

test('after a run: its causal evidence, one more latent\'s evidence and seed stability, each a job with progress', async () => {
  const c = client();
  try {
    const view = await (await c.train('doc', job(settings()), () => {})).done;
    assert.equal(view.analysis.evidence, undefined, 'the run comes back before its evidence');

    const events: ProgressEvent[] = [];
    const report = await (await c.evidence('evidence:doc', { runDir: view.runDir, threads: 1 }, (p) => events.push(p))).done;
    assert.ok(report.evidence && 'fidelity' in report.evidence, JSON.stringify(report.evidence)?.slice(0, 300));
    const ev = report.evidence;
    assert.ok(Number.isFinite(ev.fidelity.ceClean));
    const listed = new Set([...report.conceptList, ...report.conceptCandidates, ...report.punctuationList].map((e) => e.latent));
    assert.ok(ev.latents.length > 0 && ev.latents.every((l) => listed.has(l.latent)), 'the top latents of the lists');
    assert.ok(JSON.parse(fs.readFileSync(path.join(view.runDir, ANALYSIS_FILE), 'utf8')).evidence.fidelity, 'written to analysis.json');
    const forwards = events.filter((e) => e.phase === 'evidence' && e.unit === 'forward');
    assert.ok(forwards.length > 0 && forwards[forwards.length - 1].done === forwards[forwards.length - 1].total, 'counts its forward passes to the end');

    const other = Array.from({ length: 128 }, (_, l) => l).find((l) => !ev.latents.some((x) => x.latent === l))!;
    const one = await (await c.latentEvidence('latentEvidence:doc', { runDir: view.runDir, latent: other, threads: 1 }, () => {})).done;
    assert.equal(one.latent, other);
    assert.ok(Number.isFinite(one.ablation.meanDeltaLoss));
    const bad = await failure((await c.latentEvidence('latentEvidence:doc', { runDir: view.runDir, latent: 128 }, () => {})).done);
    assert.equal(bad.code, 'E_LATENT');

    const seeds: ProgressEvent[] = [];
    const stability = await (await c.stability('stability:doc', { runDir: view.runDir, seeds: 2, analysis: { lexicon: { kind: 'gazetteer' }, punctuationShare: 0.5, proxyShare: 0.3 }, engine: 'ort', threads: 1 }, (p) => seeds.push(p))).done;
    assert.deepEqual(stability.seeds, [0, 1]);
    assert.ok(fs.existsSync(path.join(view.runDir, 'stability.json')));
    assert.ok(seeds.some((e) => e.phase === 'stability' && /training seed 1/.test(e.message)));
  } finally {
    await c.dispose();
  }
});

test('offline with the stand-in chosen: the run uses the random-weights stand-in, and says so', async () => {
  const saved = { ...process.env };
  process.env.LATENT_LENS_HF_ENDPOINT = 'http://127.0.0.1:1';
  const cache = path.join(tmp, 'standin-cache');
  process.env.LATENT_LENS_CACHE = cache;
  delete process.env.LATENT_LENS_MODEL_DIR;
  // The stand-in's folder, made small for the test (the product generates GPT-2 Small's shapes there).
  makeTestModel({ out: path.join(cache, 'models', 'random-gpt2-l12-d768-seed0'), layers: 2, dModel: 64, heads: 4, seed: 0 });
  const c = client();
  try {
    const events: ProgressEvent[] = [];
    const view = await (await c.train('a', job(settings({}, { modelDir: undefined, standIn: true })), (p) => events.push(p))).done;
    assert.equal(view.cfg.model.random_weights, true);
    assert.ok(events.some((e) => e.phase === 'standIn'), 'the stand-in is named in the progress');
    assert.ok(events.some((e) => e.phase === 'load' && e.message === 'loading the random-weights stand-in'));
  } finally {
    process.env = saved;
    await c.dispose();
  }
});

test('cancel ends the job within 1 s, leaves no worker process and no run directory', async () => {
  const c = client();
  let training = false;
  const j = job(settings({ epochs: 100000 }));
  const started = await c.train('doc', j, (p) => (training ||= p.phase === 'train'));
  await waitFor('training to start', () => training, 30_000);
  const pid = c.pid!;
  const t0 = Date.now();
  const cancelled = c.cancel(started.jobId);
  const f = await failure(started.done);
  await cancelled;
  const ms = Date.now() - t0;
  assert.equal(f.kind, 'cancelled');
  assert.ok(ms < 1000, `cancel took ${ms} ms`);
  await waitFor('the worker to exit', () => !alive(pid), 1000 - Math.min(ms, 999));
  assert.equal(c.pid, undefined);
  assert.equal(fs.existsSync(j.out), false);
  await c.dispose();
});

test('a second run for the same document cancels the first and says so', async () => {
  const c = client();
  try {
    let training = false;
    const first = await c.train('doc', job(settings({ epochs: 100000 })), (p) => (training ||= p.phase === 'train'));
    await waitFor('training to start', () => training, 30_000);
    const second = await c.train('doc', job(settings()), () => {});
    assert.equal(second.replaced, true);
    assert.equal((await failure(first.done)).kind, 'cancelled');
    assert.ok((await second.done).tokens.tokens.length > 0);
    assert.equal(c.jobFor('doc'), undefined);
  } finally {
    await c.dispose();
  }
});

test('bad input comes back as a user error with what to do, and the worker stays usable', async () => {
  const c = client();
  try {
    const tooMany = await failure((await c.train('a', job(settings({}, { maxTokens: 5 })), () => {})).done);
    assert.equal(tooMany.kind, 'user');
    assert.equal(tooMany.code, 'E_TOO_MANY_TOKENS');
    assert.match(tooMany.message, /latentLens\.maxTokens/);

    const empty = await failure((await c.train('a', job(settings(), '  \n '), () => {})).done);
    assert.equal(empty.kind, 'user');
    assert.match(empty.message, /nothing to tokenize/);

    const noModel = await failure((await c.train('a', job(settings({}, { modelDir: path.join(tmp, 'missing') })), () => {})).done);
    assert.equal(noModel.kind, 'user');
    assert.equal(noModel.code, 'E_MODEL');

    const noLexicon = await failure((await c.train('a', job(settings({}, { analysis: { lexicon: { kind: 'file', path: path.join(tmp, 'nope.txt') }, punctuationShare: 0.5, proxyShare: 0.3 } })), () => {})).done);
    assert.equal(noLexicon.code, 'E_LEXICON');

    assert.ok((await (await c.train('a', job(settings()), () => {})).done).tokens.tokens.length > 0);
  } finally {
    await c.dispose();
  }
});

test('a model download failure says what to do', async () => {
  const saved = { ...process.env };
  // Port 1 on loopback refuses at once: the hub is unreachable, as on an offline machine.
  process.env.LATENT_LENS_HF_ENDPOINT = 'http://127.0.0.1:1';
  process.env.LATENT_LENS_CACHE = path.join(tmp, 'cache');
  delete process.env.LATENT_LENS_MODEL_DIR;
  const c = client();
  try {
    const f = await failure((await c.train('a', job(settings({}, { modelDir: undefined })), () => {})).done);
    assert.equal(f.kind, 'user');
    assert.equal(f.code, 'E_OFFLINE');
    assert.match(f.message, /cannot reach/);
  } finally {
    process.env = saved;
    await c.dispose();
  }
});

test('a worker killed from outside becomes a crash error; the next run starts a new worker', async () => {
  const log = memoryLog();
  const c = client(60_000, log);
  try {
    let training = false;
    const started = await c.train('doc', job(settings({ epochs: 100000 })), (p) => (training ||= p.phase === 'train'));
    await waitFor('training to start', () => training, 30_000);
    const pid = c.pid!;
    process.kill(pid, 'SIGKILL');
    const f = await failure(started.done);
    assert.equal(f.kind, 'crash');
    assert.match(f.message, /killed \(SIGKILL\)/);
    assert.ok(log.lines.some((l) => /exited \(code null, signal SIGKILL\)/.test(l)));
    const next = await c.train('doc', job(settings()), () => {});
    assert.ok((await next.done).tokens.tokens.length > 0);
    assert.notEqual(c.pid, pid);
  } finally {
    await c.dispose();
  }
});

test('an idle worker stops after the idle timeout', async () => {
  const c = client(300);
  await (await c.train('doc', job(settings()), () => {})).done;
  const pid = c.pid!;
  assert.ok(alive(pid));
  await waitFor('the idle worker to exit', () => !alive(pid), 3000);
  await c.dispose();
});

test('killing the parent leaves no orphan worker', async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/fixtures/workerParent.ts'), modelDir, path.join(tmp, 'orphan-run')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: parent.stdout! });
    rl.on('line', (l) => l.startsWith('TRAINING') && resolve(l));
    parent.on('exit', (code) => reject(new Error(`the parent exited early (${code})`)));
  });
  const workerPid = Number(line.split(' ')[1]);
  assert.ok(alive(workerPid));
  parent.kill('SIGKILL');
  const ms = await waitFor('the orphaned worker to exit', () => !alive(workerPid), 3000);
  assert.ok(ms < 3000);
});
