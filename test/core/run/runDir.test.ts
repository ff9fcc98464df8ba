import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../src/core/errors';
import { RUN_FORMAT_VERSION } from '../../../src/core/run/format';
import { runCfg } from '../../../src/core/run/runCfg';
import { readRun, RUN_FILES, writeRun, type RunParts } from '../../../src/core/run/runDir';
import { saeConfig } from '../../../src/core/sae/config';
import { tiedSae } from '../../../src/core/sae/model';
import { readSafetensors } from '../../../src/core/safetensors';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'll-rundir-'));
}

/** A small consistent run: d_in 3, 4 latents, 2 tokens. */
function parts(): RunParts {
  const T = 2;
  const sae = tiedSae(Float32Array.from({ length: 12 }, (_, i) => i + 1), { dIn: 3, nLatents: 4, k: 2 }, { hookName: 'blocks.1.hook_mlp_out', modelName: 'test' });
  return {
    cfg: runCfg(saeConfig({ epochs: 1 }), sae, { model: { name: 'test', random_weights: true }, engine: 'tfjs', device: 'tfjs cpu backend', nTokens: T }),
    sae,
    codes: { rowPtr: Int32Array.from([0, 2, 3]), index: Int32Array.from([3, 0, 1]), value: Float32Array.from([0.5, 0.25, 2]) },
    metrics: {
      version: RUN_FORMAT_VERSION,
      curve: [{ epoch: 1, loss: 1, mse: 1, l1: 0, decor: 0, fve: 0.5, l0: 1.5, dead_fraction: 0.25, ms: 3 }],
      final: { loss: 1, mse: 1, l1: 0, decor: 0, fve: 0.5, l0: 1.5, dead_fraction: 0.25, layer_density: 75 },
      ms_per_epoch: 3, total_ms: 4, engine: 'tfjs', device: 'tfjs cpu backend', batching: 'full batch of 2 tokens',
    },
    tokens: { version: RUN_FORMAT_VERSION, source: 'a.txt', offset: 0, tokens: [{ id: 64, text: 'a', start: 0, end: 1 }, { id: 275, text: ' b', start: 1, end: 3 }] },
  };
}

function leftovers(parent: string): string[] {
  return fs.readdirSync(parent).filter((e) => e.startsWith('.'));
}

test('writeRun → readRun round trip; W_dec is W_encᵀ and biases are zero', () => {
  const parent = tmpdir();
  const dir = path.join(parent, 'run');
  const p = parts();
  writeRun(dir, p);
  const r = readRun(dir);
  assert.deepEqual(r.cfg, p.cfg);
  assert.deepEqual(r.sae, p.sae);
  assert.deepEqual(r.codes, p.codes);
  assert.deepEqual(r.metrics, p.metrics);
  assert.deepEqual(r.tokens, p.tokens);
  const { tensors } = readSafetensors(path.join(dir, RUN_FILES.sae));
  const dec = tensors.get('W_dec')!;
  assert.deepEqual(dec.shape, [4, 3]);
  for (let i = 0; i < 3; i++) for (let l = 0; l < 4; l++) assert.equal((dec.data as Float32Array)[l * 3 + i], p.sae.wEnc[i * 4 + l]);
  assert.deepEqual([...(tensors.get('b_enc')!.data as Float32Array)], [0, 0, 0, 0]);
  assert.equal(r.cfg.sae.d_sae, 4);
  assert.equal(r.cfg.sae.tied, true);
  assert.deepEqual(leftovers(parent), []);
});

test('writeRun replaces an existing run and leaves no temp or aside directory', () => {
  const parent = tmpdir();
  const dir = path.join(parent, 'run');
  writeRun(dir, parts());
  const p = parts();
  p.sae.wEnc[0] = 99;
  writeRun(dir, p);
  assert.equal(readRun(dir).sae.wEnc[0], 99);
  assert.deepEqual(leftovers(parent), []);
});

test('writeRun refuses to replace a directory that is not a run, and a file', () => {
  const parent = tmpdir();
  const dir = path.join(parent, 'docs');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'thesis.tex'), 'precious');
  assert.throws(() => writeRun(dir, parts()), (e: unknown) => e instanceof UserError && /not a Latent Lens run directory/.test(e.message));
  assert.equal(fs.readFileSync(path.join(dir, 'thesis.tex'), 'utf8'), 'precious');
  const file = path.join(parent, 'file');
  fs.writeFileSync(file, 'x');
  assert.throws(() => writeRun(file, parts()), /is a file/);
  assert.deepEqual(leftovers(parent), []);
});

test('inconsistent parts are rejected before anything is written: no run directory, no temp directory', () => {
  const parent = tmpdir();
  const dir = path.join(parent, 'run');
  const p = parts();
  p.sae.wEnc = new Float32Array(5); // inconsistent with cfg: rejected before anything is written
  assert.throws(() => writeRun(dir, p));
  assert.equal(fs.existsSync(dir), false);
  assert.deepEqual(leftovers(parent), []);
});

test('temp directories of dead processes are cleaned up by the next write', () => {
  const parent = tmpdir();
  const stale = path.join(parent, '.run.tmp-999999999-abcd');
  fs.mkdirSync(stale);
  writeRun(path.join(parent, 'run'), parts());
  assert.equal(fs.existsSync(stale), false);
});

function written(): string {
  const dir = path.join(tmpdir(), 'run');
  writeRun(dir, parts());
  return dir;
}

test('readRun: a missing directory says so', () => {
  assert.throws(() => readRun(path.join(tmpdir(), 'nope')), (e: unknown) => e instanceof UserError && /does not exist/.test(e.message));
});

for (const file of Object.values(RUN_FILES)) {
  test(`readRun: a missing ${file} is named`, () => {
    const dir = written();
    fs.rmSync(path.join(dir, file));
    assert.throws(() => readRun(dir), (e: unknown) => e instanceof UserError && e.message.includes(file) && /missing/.test(e.message));
  });
}

test('readRun: a wrong format version is named with the version this build reads', () => {
  const dir = written();
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.cfg), 'utf8'));
  fs.writeFileSync(path.join(dir, RUN_FILES.cfg), JSON.stringify({ ...cfg, version: 7 }));
  assert.throws(() => readRun(dir), (e: unknown) => e instanceof UserError && new RegExp(`cfg\\.json has format version 7.*reads version ${RUN_FORMAT_VERSION}`).test(e.message));
});

test('readRun: W_enc whose shape disagrees with cfg.json is named', () => {
  const dir = written();
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.cfg), 'utf8'));
  fs.writeFileSync(path.join(dir, RUN_FILES.cfg), JSON.stringify({ ...cfg, sae: { ...cfg.sae, d_sae: 6 } }));
  assert.throws(() => readRun(dir), (e: unknown) => e instanceof UserError && /sae\.safetensors has W_enc of shape \[3, 4\].*\[3, 6\]/.test(e.message));
});

test('readRun: a token count that disagrees with cfg.json is named', () => {
  const dir = written();
  const tokens = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.tokens), 'utf8'));
  tokens.tokens.pop();
  fs.writeFileSync(path.join(dir, RUN_FILES.tokens), JSON.stringify(tokens));
  assert.throws(() => readRun(dir), (e: unknown) => e instanceof UserError && /tokens\.json lists 1 tokens.*n_tokens = 2/.test(e.message));
});

test('readRun: latents whose rows disagree with tokens.json are named', () => {
  const parent = tmpdir();
  const dir = path.join(parent, 'run');
  const p = parts();
  writeRun(dir, p);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.cfg), 'utf8'));
  const tokens = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.tokens), 'utf8'));
  tokens.tokens.push({ id: 1, text: 'c', start: 3, end: 4 });
  fs.writeFileSync(path.join(dir, RUN_FILES.tokens), JSON.stringify(tokens));
  fs.writeFileSync(path.join(dir, RUN_FILES.cfg), JSON.stringify({ ...cfg, n_tokens: 3 }));
  assert.throws(() => readRun(dir), (e: unknown) => e instanceof UserError && /latents\.safetensors has row_ptr of shape \[3\].*\[4\]/.test(e.message));
});

test('readRun: a corrupt JSON file is named', () => {
  const dir = written();
  fs.writeFileSync(path.join(dir, RUN_FILES.metrics), '{"version": 1, ');
  assert.throws(() => readRun(dir), (e: unknown) => e instanceof UserError && /metrics\.json is not valid JSON/.test(e.message));
});
