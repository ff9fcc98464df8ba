import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applySae, type ApplyOptions, type ApplyProgress } from '../../src/core/apply';
import { isCancelled, UserError } from '../../src/core/errors';
import { parseHook } from '../../src/core/hooks';
import { loadModel } from '../../src/core/model/load';
import { makeTestModel } from '../../src/core/model/testModel';
import { readRun } from '../../src/core/run/runDir';
import { encodeSafetensors, type Tensor } from '../../src/core/safetensors';
import { saeLensFiles } from '../../src/core/sae/formats/saelens';
import { sparsifyFiles } from '../../src/core/sae/formats/sparsify';
import { saeInput } from '../../src/core/sae/input';
import { saeCacheDir } from '../../src/core/sae/source';
import { tokenize } from '../../src/core/tokenizer';
import { tempRoot } from '../fixtures/cli';
import { fakeHub } from '../fixtures/fakeHub';
import { randomSae } from '../fixtures/saeModels';
import { referenceSae } from './sae/referenceSae';

const root = tempRoot('ll-apply-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
const model = loadModel(modelDir);
const TEXT = 'Budapest is the capital of Hungary; Vienna, that of Austria. The Danube flows through both.';
let n = 0;
const out = () => path.join(root, `run${n++}`);

const f32 = (data: Float32Array, shape: number[]): Tensor => ({ dtype: 'F32', shape, data });
/** A res-jb-like SAE in SAELens's layout before 6.0 (as jbloom/GPT2-Small-SAEs-Reformatted has it), sized for the test model. */
const legacy = randomSae({ dIn: 64, dSae: 256, activation: 'relu', seed: 3, site: { hookName: 'blocks.1.hook_resid_pre' } });
const legacyFiles = {
  'cfg.json': Buffer.from(JSON.stringify({ d_in: 64, d_sae: 256, dtype: 'torch.float32', device: 'cuda', model_name: 'gpt2-small', hook_point: 'blocks.1.hook_resid_pre', hook_point_layer: 1, context_size: 128 })),
  'sae_weights.safetensors': encodeSafetensors({ W_enc: f32(legacy.wEnc, [64, 256]), b_enc: f32(legacy.bEnc, [256]), W_dec: f32(legacy.wDec, [256, 64]), b_dec: f32(legacy.bDec, [64]) }),
  'sparsity.safetensors': encodeSafetensors({ sparsity: f32(new Float32Array(256).fill(-3), [256]) }),
};
const RES_JB = 'jbloom/GPT2-Small-SAEs-Reformatted';
const topk = randomSae({ dIn: 64, dSae: 128, activation: 'topk', k: 6, seed: 4, site: { hookName: 'blocks.1.hook_mlp_out' } });
const { hook_name: _, ...sparsifyCfg } = JSON.parse(sparsifyFiles(topk)['cfg.json'] as string);
const hubFiles: Record<string, Buffer> = {
  ...Object.fromEntries(Object.entries(legacyFiles).map(([f, b]) => [`${RES_JB}/blocks.1.hook_resid_pre/${f}`, b])),
  'someone/gpt2-saes/h.1.mlp/cfg.json': Buffer.from(JSON.stringify(sparsifyCfg)),
  'someone/gpt2-saes/h.1.mlp/sae.safetensors': Buffer.from(sparsifyFiles(topk)['sae.safetensors'] as Uint8Array),
};

const apply = (o: Partial<ApplyOptions> & Pick<ApplyOptions, 'sae'>) => applySae({ text: TEXT, source: 'doc.txt', modelSpec: modelDir, out: out(), threads: 1, ...o });

test('a release: downloaded into the cache with progress, read as SAELens converts the old layout, centred and with BOS as the registry and cfg.json say', async () => {
  const hub = await fakeHub(hubFiles);
  try {
    const cacheDir = path.join(root, 'cache');
    const progress: ApplyProgress[] = [];
    const r = await apply({ sae: { spec: 'gpt2-small-res-jb', layer: 1 }, hub: { endpoint: hub.endpoint, cacheDir }, onProgress: (p) => progress.push(p) });
    const dir = saeCacheDir(RES_JB, 'blocks.1.hook_resid_pre', cacheDir);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['cfg.json', 'sae_weights.safetensors'], 'sparsity.safetensors is not needed');
    assert.ok(progress.some((p) => p.phase === 'download' && p.download?.file === 'blocks.1.hook_resid_pre/sae_weights.safetensors' && p.download.done === p.download.total));
    assert.deepEqual(r.cfg.sae.source, { kind: 'release', release: 'gpt2-small-res-jb', id: 'blocks.1.hook_resid_pre', repo: RES_JB, path: 'blocks.1.hook_resid_pre' });
    assert.deepEqual([r.cfg.sae.activation, r.cfg.sae.d_sae, r.cfg.sae.prepend_bos, r.cfg.sae.center_writing_weights, r.cfg.sae.model_name], ['relu', 256, true, true, 'gpt2-small']);
    assert.match(r.notes.join('\n'), /its cfg\.json has width 256 where the registry says 24576; using cfg\.json/);
    assert.equal(r.cfg.train, undefined);

    // The codes are the reference encoder's on the SAE's input (BOS per window, centred).
    const tokens = tokenize(TEXT);
    const hook = parseHook('blocks.1.hook_resid_pre', model.config);
    const { acts } = await saeInput(tokens, model, hook, { prependBos: true, centred: true }, { threads: 1 });
    const ref = referenceSae({ ...legacy, site: readRun(r.out).sae.site }, acts, tokens.length);
    const run = readRun(r.out);
    assert.equal(run.tokens.tokens.length, tokens.length, 'BOS is not a token of the run');
    for (let t = 0; t < tokens.length; t++) {
      const want = [...ref.z[t]].map((v, j) => [j, v] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([j]) => j);
      assert.deepEqual([...run.codes.index.subarray(run.codes.rowPtr[t], run.codes.rowPtr[t + 1])], want, `token ${t}`);
    }
    let sse = 0;
    let sst = 0;
    const mean = new Float64Array(64);
    for (let t = 0; t < tokens.length; t++) for (let i = 0; i < 64; i++) mean[i] += acts[t * 64 + i] / tokens.length;
    for (let t = 0; t < tokens.length; t++) {
      for (let i = 0; i < 64; i++) {
        sse += (acts[t * 64 + i] - ref.xhat[t][i]) ** 2;
        sst += (acts[t * 64 + i] - mean[i]) ** 2;
      }
    }
    assert.ok(Math.abs(r.metrics.final.fve - (1 - sse / sst)) < 1e-5, `FVE ${r.metrics.final.fve} vs ${1 - sse / sst}`);
    assert.ok(Math.abs(r.metrics.final.mse - sse / (tokens.length * 64)) <= 1e-5 * r.metrics.final.mse);

    const before = hub.seen.length;
    await apply({ sae: { spec: 'gpt2-small-res-jb/blocks.1.hook_resid_pre' }, hub: { endpoint: hub.endpoint, cacheDir } });
    assert.equal(hub.seen.length, before, 'a cached SAE is used without asking the hub');
    const viaHub = await apply({ sae: { spec: `hf:${RES_JB}/blocks.1.hook_resid_pre` }, hub: { endpoint: hub.endpoint, cacheDir } });
    assert.equal(viaHub.cfg.sae.center_writing_weights, true, "the registry's facts about its repository hold for hf: too");
    assert.deepEqual(viaHub.cfg.sae.source, { kind: 'hub', repo: RES_JB, path: 'blocks.1.hook_resid_pre', format: 'saelens' });
  } finally {
    await hub.close();
  }
});

test('hf:OWNER/NAME/PATH: a sparsify folder, its hook from the folder name', async () => {
  const hub = await fakeHub(hubFiles);
  try {
    const r = await apply({ sae: { spec: 'hf:someone/gpt2-saes/h.1.mlp' }, hub: { endpoint: hub.endpoint, cacheDir: path.join(root, 'cache-sp') } });
    assert.deepEqual(r.cfg.sae.source, { kind: 'hub', repo: 'someone/gpt2-saes', path: 'h.1.mlp', format: 'sparsify' });
    assert.equal(r.cfg.sae.hook_name, 'blocks.1.hook_mlp_out');
    assert.deepEqual([r.cfg.sae.activation, r.cfg.sae.k], ['topk', 6]);
    assert.ok(r.metrics.final.l0 > 0 && r.metrics.final.l0 <= 6);
  } finally {
    await hub.close();
  }
});

const fails = (re: RegExp, code: string) => (e: unknown) => (e instanceof UserError && e.code === code && re.test(e.message)) || assert.fail(`${(e as Error).message} (${(e as UserError).code})`);

test('a hub repo or folder that does not exist, and an unreachable hub, say so and name the cache folder and files', async () => {
  const hub = await fakeHub(hubFiles);
  const cacheDir = path.join(root, 'cache-bad');
  try {
    await assert.rejects(apply({ sae: { spec: 'hf:nobody/nothing/blocks.1.hook_resid_pre' }, hub: { endpoint: hub.endpoint, cacheDir } }), fails(/blocks\.1\.hook_resid_pre\/cfg\.json was not found \(HTTP 404\): nobody\/nothing has no blocks\.1\.hook_resid_pre\/cfg\.json on the hub\. Check the repository and folder/, 'E_SAE'));
    await assert.rejects(apply({ sae: { spec: `hf:${RES_JB}/blocks.7.hook_resid_pre` }, hub: { endpoint: hub.endpoint, cacheDir } }), fails(/HTTP 404/, 'E_SAE'));
  } finally {
    await hub.close();
  }
  await assert.rejects(apply({ sae: { spec: 'gpt2-small-res-jb', layer: 1 }, hub: { endpoint: hub.endpoint, cacheDir } }), (e: unknown) => {
    assert.ok(e instanceof UserError && e.code === 'E_OFFLINE', String(e));
    assert.match(e.message, /cannot reach the Hugging Face hub at http:\/\/127\.0\.0\.1:\d+ to download jbloom\/GPT2-Small-SAEs-Reformatted/);
    assert.ok(e.message.includes(path.join(cacheDir, 'saes', 'jbloom--GPT2-Small-SAEs-Reformatted')), e.message);
    assert.match(e.message, /\n\s+blocks\.1\.hook_resid_pre\/cfg\.json\n/);
    assert.match(e.message, /--sae DIR/);
    return true;
  });
});

function saeFolder(m: ReturnType<typeof randomSae>): string {
  const dir = path.join(root, `sae${n++}`);
  fs.mkdirSync(dir);
  for (const [f, data] of Object.entries(saeLensFiles(m))) fs.writeFileSync(path.join(dir, f), data);
  return dir;
}

test('an SAE whose d_in does not match its hook, or whose hook Latent Lens cannot extract, is refused before extraction; nothing is written', async () => {
  const wrongWidth = saeFolder(randomSae({ dIn: 32, dSae: 64, activation: 'relu', site: { hookName: 'blocks.1.hook_resid_pre', modelName: 'gpt2-tiny' } }));
  const o1 = out();
  await assert.rejects(applySae({ text: TEXT, source: 'doc', sae: { spec: wrongWidth }, modelSpec: modelDir, out: o1 }), fails(/reads blocks\.1\.hook_resid_pre with d_in 32, but blocks\.1\.hook_resid_pre of random test model .* has width 64.*model_name "gpt2-tiny"/, 'E_DIN'));
  assert.equal(fs.existsSync(o1), false);
  const hookZ = saeFolder(randomSae({ dIn: 64, dSae: 64, activation: 'relu', site: { hookName: 'blocks.1.attn.hook_z' } }));
  await assert.rejects(apply({ sae: { spec: hookZ } }), fails(/the SAE reads blocks\.1\.attn\.hook_z, which Latent Lens cannot extract/, 'E_HOOK'));
  const deep = saeFolder(randomSae({ dIn: 64, dSae: 64, activation: 'relu', site: { hookName: 'blocks.9.hook_resid_pre' } }));
  await assert.rejects(apply({ sae: { spec: deep } }), fails(/layer 9 .* out of range: this model has 2 layers/, 'E_HOOK'));
});

test('cancelling stops the run and leaves no run directory', async () => {
  const ac = new AbortController();
  const o = out();
  const sae = saeFolder(topk);
  await assert.rejects(applySae({ text: TEXT, source: 'doc', sae: { spec: sae }, modelSpec: modelDir, out: o, signal: ac.signal, onProgress: (p) => p.phase === 'extract' && ac.abort() }), isCancelled);
  assert.equal(fs.existsSync(o), false);
});
