import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { isCancelled, UserError } from '../../../src/core/errors';
import { loadModel } from '../../../src/core/model/load';
import { modelCacheDir, resolveModel, type DownloadProgress } from '../../../src/core/model/download';
import { makeTestModel } from '../../../src/core/model/testModel';
import { fakeHub, sha256, type Plan } from '../../fixtures/fakeHub';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'll-download-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// The files the fake hub serves: a small random GPT-2.
const source = path.join(tmp, 'source');
makeTestModel({ out: source, layers: 1, dModel: 16, heads: 2, seed: 1, vocab: 2000, positions: 64 });
const files: Record<string, Buffer> = {
  'config.json': fs.readFileSync(path.join(source, 'config.json')),
  'model.safetensors': fs.readFileSync(path.join(source, 'model.safetensors')),
};

/** The hub serving openai-community/gpt2's two files (model.safetensors as an LFS file). */
async function hub(opts: { plan?: Plan; linkedSha?: string } = {}) {
  const h = await fakeHub(Object.fromEntries(Object.entries(files).map(([f, b]) => [`openai-community/gpt2/${f}`, b])), opts);
  return { ...h, weightGets: h.lfsGets };
}

let n = 0;
const freshCache = () => path.join(tmp, `cache${n++}`);
const repoDir = (cacheDir: string) => modelCacheDir('openai-community/gpt2', cacheDir);

function assertDownloaded(dir: string): void {
  for (const [f, body] of Object.entries(files)) assert.equal(sha256(fs.readFileSync(path.join(dir, f))), sha256(body), f);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors']);
}

test('downloads config.json and model.safetensors with progress into the cache, then stays offline', async () => {
  const h = await hub();
  try {
    const cacheDir = freshCache();
    const progress: DownloadProgress[] = [];
    const dir = await resolveModel(undefined, { cacheDir, endpoint: h.endpoint, onProgress: (p) => progress.push({ ...p }) });
    assert.equal(dir, path.join(cacheDir, 'models', 'openai-community--gpt2'));
    assertDownloaded(dir);
    assert.equal(loadModel(dir).label, 'random test model (seed 1) — RANDOM WEIGHTS');
    for (const [f, body] of Object.entries(files)) {
      const mine = progress.filter((p) => p.file === f);
      assert.ok(mine.length >= 2, `progress reported for ${f}`);
      assert.ok(mine.every((p, i) => p.total === body.length && (i === 0 || p.done >= mine[i - 1].done)), `${f}: done is monotonic, total is the file size`);
      assert.deepEqual(mine.at(-1), { file: f, done: body.length, total: body.length });
    }
    const before = h.seen.length;
    assert.equal(await resolveModel('gpt2', { cacheDir, endpoint: h.endpoint }), dir);
    assert.equal(await resolveModel('openai-community/gpt2', { cacheDir, endpoint: h.endpoint }), dir);
    assert.equal(h.seen.length, before, 'a complete cache is used without asking the hub');
  } finally {
    await h.close();
  }
});

test('endpoint and cache root come from LATENT_LENS_HF_ENDPOINT and LATENT_LENS_CACHE', async () => {
  const h = await hub();
  const saved = { e: process.env.LATENT_LENS_HF_ENDPOINT, c: process.env.LATENT_LENS_CACHE };
  try {
    const cacheDir = freshCache();
    process.env.LATENT_LENS_HF_ENDPOINT = h.endpoint + '/';
    process.env.LATENT_LENS_CACHE = cacheDir;
    const dir = await resolveModel('gpt2');
    assert.equal(dir, repoDir(cacheDir));
    assertDownloaded(dir);
    assert.ok(h.seen.length > 0);
  } finally {
    for (const [k, v] of [['LATENT_LENS_HF_ENDPOINT', saved.e], ['LATENT_LENS_CACHE', saved.c]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await h.close();
  }
});

test('a connection cut mid-file is resumed with a Range request and verified', async () => {
  const cut = 50_000;
  const h = await hub({ plan: (i) => (i === 0 ? cut : 'ok') });
  try {
    const cacheDir = freshCache();
    const dir = await resolveModel('gpt2', { cacheDir, endpoint: h.endpoint });
    assertDownloaded(dir);
    const gets = h.weightGets();
    assert.equal(gets.length, 2);
    assert.equal(gets[0].range, undefined);
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
    assert.ok(from > 0 && from <= cut, `resumed from the bytes received before the cut: ${gets[1].range}`);
  } finally {
    await h.close();
  }
});

test('an interrupted run keeps the .part and the next run resumes it', async () => {
  const cut = 40_000;
  const h = await hub({ plan: (i) => (i === 0 ? cut : 'refuse') });
  const cacheDir = freshCache();
  const part = path.join(repoDir(cacheDir), 'model.safetensors.part');
  let kept = 0;
  try {
    await assert.rejects(resolveModel(undefined, { cacheDir, endpoint: h.endpoint }), (e) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(e.message, /downloading model\.safetensors .* failed .* after \d+ of \d+ bytes\. The partial file .*model\.safetensors\.part is kept: run again to resume/s);
      return true;
    });
    kept = fs.statSync(part).size;
    assert.ok(kept > 0 && kept <= cut, `kept ${kept} bytes`);
    assert.equal(fs.existsSync(path.join(repoDir(cacheDir), 'model.safetensors')), false, 'no file at the final name');
  } finally {
    await h.close();
  }
  const again = await hub();
  try {
    const dir = await resolveModel(undefined, { cacheDir, endpoint: again.endpoint });
    assertDownloaded(dir);
    assert.deepEqual(again.weightGets().map((g) => g.range), [`bytes=${kept}-`]);
  } finally {
    await again.close();
  }
});

test('a server that ignores Range (200) restarts the file from byte 0', async () => {
  const h = await hub({ plan: () => 'ignore-range' });
  try {
    const cacheDir = freshCache();
    fs.mkdirSync(repoDir(cacheDir), { recursive: true });
    fs.writeFileSync(path.join(repoDir(cacheDir), 'model.safetensors.part'), 'stale bytes that are not the file');
    const dir = await resolveModel('gpt2', { cacheDir, endpoint: h.endpoint });
    assertDownloaded(dir);
    assert.equal(h.weightGets()[0].range, 'bytes=33-');
  } finally {
    await h.close();
  }
});

test('a wrong checksum deletes the download and says so', async () => {
  const h = await hub({ linkedSha: 'ab'.repeat(32) });
  try {
    const cacheDir = freshCache();
    await assert.rejects(resolveModel('gpt2', { cacheDir, endpoint: h.endpoint }), (e) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, new RegExp(`model\\.safetensors downloaded from .* has sha256 ${sha256(files['model.safetensors'])}, but the hub lists ${'ab'.repeat(32)}.*deleted`));
      return true;
    });
    assert.deepEqual(fs.readdirSync(repoDir(cacheDir)), ['config.json'], 'neither model.safetensors nor its .part is left');
  } finally {
    await h.close();
  }
});

test('cancelling through the signal stops the download and keeps the .part', async () => {
  const h = await hub();
  try {
    const cacheDir = freshCache();
    const ac = new AbortController();
    const onProgress = (p: DownloadProgress) => {
      if (p.file === 'model.safetensors' && p.done > 0) ac.abort();
    };
    await assert.rejects(resolveModel('gpt2', { cacheDir, endpoint: h.endpoint, onProgress, signal: ac.signal }), (e) => isCancelled(e) && /download of openai-community\/gpt2 cancelled/.test(e.message));
    assert.equal(fs.existsSync(path.join(repoDir(cacheDir), 'model.safetensors')), false);
    assert.ok(fs.statSync(path.join(repoDir(cacheDir), 'model.safetensors.part')).size > 0);
  } finally {
    await h.close();
  }
});

test('an unreachable hub names the cache directory, the files and the alternatives', async () => {
  const h = await hub();
  const endpoint = h.endpoint;
  await h.close(); // nothing listens on this port any more
  const cacheDir = freshCache();
  await assert.rejects(resolveModel(undefined, { cacheDir, endpoint }), (e) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.code, 'E_OFFLINE');
    assert.match(e.message, /cannot reach the Hugging Face hub at http:\/\/127\.0\.0\.1:\d+ to download openai-community\/gpt2 \(connect ECONNREFUSED/);
    assert.ok(e.message.includes(repoDir(cacheDir)), e.message);
    assert.match(e.message, /config\.json\n\s+model\.safetensors/);
    assert.match(e.message, /https:\/\/huggingface\.co\/openai-community\/gpt2/);
    assert.match(e.message, /--model DIR/);
    assert.match(e.message, /LATENT_LENS_MODEL_DIR/);
    return true;
  });
  const offline = (re: RegExp) => (e: unknown) => e instanceof UserError && e.code === 'E_OFFLINE' && re.test(e.message) && e.message.includes(repoDir(cacheDir));
  await assert.rejects(resolveModel('gpt2', { cacheDir, endpoint: 'http://hub.invalid' }), offline(/ENOTFOUND hub\.invalid/));
  const down = http.createServer((_q, r) => r.writeHead(503).end());
  await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
  try {
    await assert.rejects(resolveModel('gpt2', { cacheDir, endpoint: `http://127.0.0.1:${(down.address() as AddressInfo).port}` }), offline(/HTTP 503/));
  } finally {
    down.close();
  }
});

test('an unknown hub repo or a mistyped directory gets a clear error', async () => {
  const h = await hub();
  try {
    const cacheDir = freshCache();
    await assert.rejects(resolveModel('models/gpt2-copy', { cacheDir, endpoint: h.endpoint }), (e) => e instanceof UserError && /HTTP 404.*Nor is there a local directory .*models\/gpt2-copy/s.test(e.message));
    await assert.rejects(resolveModel('./no such dir', { cacheDir, endpoint: h.endpoint }), (e) => e instanceof UserError && /no such directory .* not a Hugging Face model name/.test(e.message));
  } finally {
    await h.close();
  }
});

test('a local directory or LATENT_LENS_MODEL_DIR bypasses the network', async () => {
  const saved = process.env.LATENT_LENS_MODEL_DIR;
  const endpoint = 'http://127.0.0.1:9'; // would be refused if it were contacted
  const cacheDir = freshCache();
  try {
    assert.equal(await resolveModel(source, { cacheDir, endpoint }), path.resolve(source));
    process.env.LATENT_LENS_MODEL_DIR = source;
    assert.equal(await resolveModel(undefined, { cacheDir, endpoint }), path.resolve(source));
    process.env.LATENT_LENS_MODEL_DIR = path.join(tmp, 'missing');
    await assert.rejects(resolveModel(undefined, { cacheDir, endpoint }), (e) => e instanceof UserError && /LATENT_LENS_MODEL_DIR is .*missing, which is not a directory/.test(e.message));
    assert.equal(fs.existsSync(cacheDir), false, 'nothing was downloaded');
  } finally {
    if (saved === undefined) delete process.env.LATENT_LENS_MODEL_DIR;
    else process.env.LATENT_LENS_MODEL_DIR = saved;
  }
});
