import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomStandIn, resolveModelOrRandom } from '../../../src/core/model/fallback';
import { loadModel } from '../../../src/core/model/load';

const tiny = { layers: 1, dModel: 16, heads: 2, positions: 64 };

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('default model offline falls back to a labelled random-weight stand-in, cached', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-fallback-'));
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const r = await resolveModelOrRandom(undefined, { cacheDir, endpoint, shape: tiny });
  assert.match(r.fallback ?? '', /RANDOM WEIGHTS/);
  assert.match(r.fallback ?? '', /openai-community--gpt2/);
  const m = loadModel(r.dir);
  assert.equal(m.randomWeights, true);
  assert.equal(m.config.nEmbd, 16);
  const again = await resolveModelOrRandom('gpt2', { cacheDir, endpoint, shape: tiny });
  assert.equal(again.dir, r.dir);
  assert.deepEqual(fs.readdirSync(path.dirname(r.dir)).filter((n) => n.includes('.tmp-')), []);
});

test('an explicitly named model never falls back', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-fallback-'));
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  await assert.rejects(resolveModelOrRandom('openai-community/gpt2-medium', { cacheDir, endpoint, shape: tiny }), /gpt2-medium/);
  await assert.rejects(resolveModelOrRandom('/no/such/dir', { cacheDir, endpoint, shape: tiny }), /no such directory/);
});

test('the stand-in is made once and found again, the same directory resolveModelOrRandom falls back to', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-fallback-'));
  const made = randomStandIn({ cacheDir, shape: tiny });
  assert.equal(made.made, true);
  assert.equal(loadModel(made.dir).randomWeights, true);
  const again = randomStandIn({ cacheDir, shape: tiny });
  assert.deepEqual(again, { dir: made.dir, made: false });
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  assert.equal((await resolveModelOrRandom(undefined, { cacheDir, endpoint, shape: tiny })).dir, made.dir);
});
