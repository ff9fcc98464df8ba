import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../../src/core/errors';
import { Rng } from '../../../src/core/rng';
import { encodeSafetensors, readSafetensors, type Tensor } from '../../../src/core/safetensors';
import { encodeSae } from '../../../src/core/sae/encode';
import { readSaeLens, saeLensFiles } from '../../../src/core/sae/formats/saelens';
import { hookOfModule, readSparsify, sparsifyFiles } from '../../../src/core/sae/formats/sparsify';
import { loadSaeFolder } from '../../../src/core/sae/load';
import { transpose, type SaeModel, type SaeNormalization } from '../../../src/core/sae/model';
import { tempRoot } from '../../fixtures/cli';
import { randomSae } from '../../fixtures/saeModels';
import { referenceSae } from './referenceSae';

const root = tempRoot('ll-formats-');
let n = 0;
function folder(files: Record<string, string | Uint8Array>, name = `sae${n++}`): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), data);
  return dir;
}
const f32 = (data: Float32Array, shape: number[]): Tensor => ({ dtype: 'F32', shape, data });
const json = (v: unknown) => JSON.stringify(v);
const rejects = (fn: () => unknown, re: RegExp, code = 'E_SAE') =>
  assert.throws(fn, (e: unknown) => e instanceof UserError && e.code === code && re.test(e.message) || assert.fail(`${(e as Error).message} (${(e as UserError).code})`));

const T = 12;
const x = new Rng(2).fillNormal(new Float32Array(T * 8), 1);

/** Two models encode alike: same non-zero latents, values and Σ‖x − x̂‖² to float32 rounding. */
async function assertSameEncoding(a: SaeModel, b: SaeModel): Promise<void> {
  const [ea, eb] = [await encodeSae(a, x, T, { threads: 1 }), await encodeSae(b, x, T, { threads: 1 })];
  assert.deepEqual(ea.codes.rowPtr, eb.codes.rowPtr);
  assert.deepEqual(ea.codes.index, eb.codes.index);
  ea.codes.value.forEach((v, j) => assert.ok(Math.abs(v - eb.codes.value[j]) <= 1e-5 * Math.max(1, Math.abs(v))));
  assert.ok(Math.abs(ea.sse - eb.sse) <= 1e-5 * ea.sse);
}

const KINDS: [SaeModel['activation']['kind'], SaeNormalization][] = [
  ['relu', { kind: 'none' }],
  ['topk', { kind: 'layer_norm' }],
  ['jumprelu', { kind: 'constant_norm_rescale' }],
  ['topk', { kind: 'expected_average_only_in', scalingFactor: 3 }],
];
for (const [activation, normalization] of KINDS) {
  test(`SAELens export → read: ${activation}, ${normalization.kind} encodes as before`, async () => {
    const m = randomSae({ dIn: 8, dSae: 24, activation, k: 5, normalization, site: { hookName: 'blocks.3.hook_resid_pre', prependBos: true, centred: true, modelName: 'gpt2-small' }, seed: 7 });
    const files = saeLensFiles(m);
    const cfg = JSON.parse(files['cfg.json'] as string);
    assert.equal(cfg.architecture, { relu: 'standard', topk: 'topk', jumprelu: 'jumprelu' }[activation]);
    assert.equal(cfg.device, 'cpu');
    assert.equal(cfg.metadata.sae_lens_version, '6.18.0');
    assert.deepEqual(cfg.metadata.model_from_pretrained_kwargs, { center_writing_weights: true });
    // SAELens's load_from_disk does not apply expected_average_only_in: the export folds it in.
    assert.equal(cfg.normalize_activations, normalization.kind === 'expected_average_only_in' ? 'none' : normalization.kind);
    const { model, notes } = readSaeLens(folder(files));
    assert.deepEqual(notes, []);
    assert.deepEqual(model.site, m.site);
    assert.equal(model.activation.kind, activation);
    await assertSameEncoding(model, m);
  });
}

test('sparsify export → read: a top-k SAE encodes as before, with b_dec folded when it is not subtracted', async () => {
  for (const applyBDecToInput of [true, false]) {
    const m = randomSae({ dIn: 8, dSae: 24, activation: 'topk', k: 4, applyBDecToInput, site: { hookName: 'blocks.2.hook_mlp_out' }, seed: 9 });
    const files = sparsifyFiles(m);
    const cfg = JSON.parse(files['cfg.json'] as string);
    assert.deepEqual([cfg.d_in, cfg.num_latents, cfg.k, cfg.activation, cfg.transcode, cfg.hook_name], [8, 24, 4, 'topk', false, 'blocks.2.hook_mlp_out']);
    const dir = folder(files);
    const { tensors } = readSafetensors(path.join(dir, 'sae.safetensors'));
    assert.deepEqual([...tensors.keys()].sort(), ['W_dec', 'b_dec', 'encoder.bias', 'encoder.weight']);
    assert.deepEqual(tensors.get('encoder.weight')!.shape, [24, 8]);
    const { model } = readSparsify(dir);
    assert.equal(model.site.hookName, 'blocks.2.hook_mlp_out');
    await assertSameEncoding(model, m);
  }
});

test('sparsify cannot hold a ReLU or a layer-normed SAE: the export says to use SAELens', () => {
  rejects(() => sparsifyFiles(randomSae({ dIn: 8, dSae: 24, activation: 'relu' })), /sparsify SAEs are top-k.*--format saelens/, 'E_USAGE');
  rejects(() => sparsifyFiles(randomSae({ dIn: 8, dSae: 24, activation: 'topk', normalization: { kind: 'layer_norm' } })), /no input normalisation.*layer_norm/, 'E_USAGE');
});

/** A SAELens folder of the layout before 6.0, as jbloom's GPT-2 releases have it. */
function legacyFolder(cfg: Record<string, unknown>, m: SaeModel, extra: Record<string, Tensor> = {}): string {
  return folder({
    'cfg.json': json({ d_in: m.dIn, d_sae: m.dSae, dtype: 'torch.float32', device: 'cuda', model_name: 'gpt2-small', hook_point: 'blocks.1.hook_resid_pre', hook_point_layer: 1, context_size: 128, ...cfg }),
    'sae_weights.safetensors': encodeSafetensors({ W_enc: f32(m.wEnc, [m.dIn, m.dSae]), b_enc: f32(m.bEnc, [m.dSae]), W_dec: f32(m.wDec, [m.dSae, m.dIn]), b_dec: f32(m.bDec, [m.dIn]), ...extra }),
  });
}

test('a SAELens folder of the pre-6.0 layout reads as SAELens converts it: hook_point, defaults, an all-ones scaling_factor dropped', async () => {
  const m = randomSae({ dIn: 8, dSae: 24, activation: 'relu', seed: 11 });
  const dir = legacyFolder({}, m, { scaling_factor: f32(new Float32Array(24).fill(1), [24]) });
  const { model, notes } = loadSaeFolder(dir);
  assert.deepEqual(model.site, { hookName: 'blocks.1.hook_resid_pre', modelName: 'gpt2-small', prependBos: true, centred: false });
  assert.equal(model.applyBDecToInput, true);
  assert.match(notes.join('\n'), /does not record model_from_pretrained_kwargs: reading uncentred activations, as SAELens 6 does/);
  await assertSameEncoding(model, { ...m, site: model.site });
  assert.equal(loadSaeFolder(dir, { overrides: { centred: true } }).model.site.centred, true, "a release's override wins");

  const topk = randomSae({ dIn: 8, dSae: 24, activation: 'topk', k: 3, seed: 12 });
  const t = loadSaeFolder(legacyFolder({ activation_fn_str: 'topk', activation_fn_kwargs: { k: 3 }, normalize_activations: false, prepend_bos: false, model_from_pretrained_kwargs: { center_writing_weights: true } }, topk));
  assert.deepEqual(t.model.activation, { kind: 'topk', k: 3 });
  assert.deepEqual(t.model.normalization, { kind: 'none' });
  assert.deepEqual([t.model.site.prependBos, t.model.site.centred], [false, true]);
  rejects(() => loadSaeFolder(legacyFolder({}, m, { scaling_factor: f32(new Float32Array(24).fill(2), [24]) })), /finetuning scaling_factor that is not all ones/);
});

test("SAELens's rescale_acts_by_decoder_norm is folded into the weights: codes are SAELens's (pre·‖W_dec_j‖)", async () => {
  const m = randomSae({ dIn: 8, dSae: 24, activation: 'topk', k: 4, seed: 13 });
  const cfg = JSON.parse(saeLensFiles(m)['cfg.json'] as string);
  const dir = folder({ ...saeLensFiles(m), 'cfg.json': json({ ...cfg, rescale_acts_by_decoder_norm: true }) });
  const { model } = readSaeLens(dir);
  const norms = Array.from({ length: 24 }, (_, j) => Math.hypot(...m.wDec.subarray(j * 8, (j + 1) * 8)));
  const scaled = { ...m, wEnc: m.wEnc.map((v, i) => v * norms[i % 24]), bEnc: m.bEnc.map((v, j) => v * norms[j]), wDec: m.wDec.map((v, i) => v / norms[Math.floor(i / 8)]) };
  const ref = referenceSae(scaled, x, T);
  const { codes } = await encodeSae(model, x, T, { threads: 1 });
  for (let t = 0; t < T; t++) {
    for (let e = codes.rowPtr[t]; e < codes.rowPtr[t + 1]; e++) assert.ok(Math.abs(codes.value[e] - ref.z[t][codes.index[e]]) < 1e-4);
  }
});

test('expected_average_only_in reads its factor from activation_scaler.json, and without one says what is missing', async () => {
  const m = randomSae({ dIn: 8, dSae: 24, activation: 'relu', seed: 14 });
  const cfg = { ...JSON.parse(saeLensFiles(m)['cfg.json'] as string), normalize_activations: 'expected_average_only_in' };
  const weights = saeLensFiles(m)['sae_weights.safetensors'];
  const withScaler = readSaeLens(folder({ 'cfg.json': json(cfg), 'sae_weights.safetensors': weights, 'activation_scaler.json': json({ scaling_factor: 2 }) }));
  assert.deepEqual(withScaler.model.normalization, { kind: 'expected_average_only_in', scalingFactor: 2 });
  await assertSameEncoding(withScaler.model, { ...m, normalization: { kind: 'expected_average_only_in', scalingFactor: 2 } });
  rejects(() => readSaeLens(folder({ 'cfg.json': json(cfg), 'sae_weights.safetensors': weights })), /expected_average_only_in" but gives no scaling factor.*activation_scaler\.json/);
});

test('bad SAE folders: each problem is named (architecture, activation, shapes, files, NaN, tensors)', () => {
  const m = randomSae({ dIn: 8, dSae: 24, activation: 'relu', seed: 15 });
  const files = saeLensFiles(m);
  const cfg = JSON.parse(files['cfg.json'] as string);
  const weights = files['sae_weights.safetensors'];
  const tensors = { W_enc: f32(m.wEnc, [8, 24]), b_enc: f32(m.bEnc, [24]), W_dec: f32(m.wDec, [24, 8]), b_dec: f32(m.bDec, [8]) };
  rejects(() => readSaeLens(folder({ 'cfg.json': json({ ...cfg, architecture: 'gated' }), 'sae_weights.safetensors': weights })), /architecture "gated".*standard, topk and jumprelu/);
  rejects(() => loadSaeFolder(legacyFolder({ activation_fn: 'tanh-relu' }, m)), /activation_fn "tanh-relu"/);
  rejects(() => readSaeLens(folder({ 'cfg.json': json({ ...cfg, d_sae: 32 }), 'sae_weights.safetensors': weights })), /tensor "W_enc" of shape \[8, 24\], but cfg\.json implies \[8, 32\]/);
  rejects(() => readSaeLens(folder({ 'cfg.json': json(cfg) })), /sae_weights\.safetensors is missing/);
  rejects(() => loadSaeFolder(folder({ 'cfg.json': json(cfg) })), /has a cfg\.json but no weights file/);
  rejects(() => loadSaeFolder(folder({ 'sae_weights.safetensors': weights })), /has no cfg\.json/);
  const nan = m.wDec.slice();
  nan[17] = NaN;
  rejects(() => readSaeLens(folder({ 'cfg.json': json(cfg), 'sae_weights.safetensors': encodeSafetensors({ ...tensors, W_dec: f32(nan, [24, 8]) }) })), /W_dec holds NaN at flat index 17/, 'E_NONFINITE');
  rejects(() => readSaeLens(folder({ 'cfg.json': json(cfg), 'sae_weights.safetensors': encodeSafetensors({ ...tensors, W_skip: f32(new Float32Array(64), [8, 8]) }) })), /tensor "W_skip" that this architecture does not have/);
  const { b_dec: _, ...noBias } = tensors;
  rejects(() => readSaeLens(folder({ 'cfg.json': json(cfg), 'sae_weights.safetensors': encodeSafetensors(noBias) })), /has no tensor "b_dec"/);
  rejects(() => readSaeLens(folder({ 'cfg.json': json({ ...cfg, metadata: { ...cfg.metadata, hook_name: undefined } }), 'sae_weights.safetensors': weights })), /does not say which hook/);
  rejects(() => readSaeLens(folder({ 'cfg.json': '{"d_in": 8,', 'sae_weights.safetensors': weights })), /cfg\.json: is not valid JSON/);
});

test('sparsify folders: the hook from the folder name, from --hook, or asked for; groupmax and transcoders refused', () => {
  assert.equal(hookOfModule('h.6.mlp'), 'blocks.6.hook_mlp_out');
  assert.equal(hookOfModule('h.0'), 'blocks.0.hook_resid_post');
  assert.equal(hookOfModule('h.11.attn'), 'blocks.11.hook_attn_out');
  assert.equal(hookOfModule('h.3.mlp.act'), 'blocks.3.mlp.hook_post');
  assert.equal(hookOfModule('layers.3'), undefined);
  const m = randomSae({ dIn: 8, dSae: 24, activation: 'topk', k: 4, seed: 16 });
  const { hook_name: _h, ...bare } = JSON.parse(sparsifyFiles(m)['cfg.json'] as string);
  const weights = sparsifyFiles(m)['sae.safetensors'];
  const named = readSparsify(folder({ 'cfg.json': json({ d_in: 8, num_latents: 24, k: 4 }), 'sae.safetensors': weights }, 'h.1.mlp'));
  assert.equal(named.model.site.hookName, 'blocks.1.hook_mlp_out');
  assert.match(named.notes.join('\n'), /does not record prepend_bos/);
  const anon = folder({ 'cfg.json': json(bare), 'sae.safetensors': weights });
  rejects(() => readSparsify(anon), /does not say which hook.*pass --hook/);
  assert.equal(readSparsify(anon, 'blocks.0.hook_resid_pre').model.site.hookName, 'blocks.0.hook_resid_pre');
  rejects(() => readSparsify(folder({ 'cfg.json': json({ ...bare, activation: 'groupmax' }), 'sae.safetensors': weights })), /activation "groupmax"/);
  rejects(() => readSparsify(folder({ 'cfg.json': json({ ...bare, transcode: true }), 'sae.safetensors': weights })), /is a transcoder/);
  rejects(() => readSparsify(folder({ 'cfg.json': json({ ...bare, num_latents: 0, expansion_factor: 4 }), 'sae.safetensors': weights }), 'blocks.0.hook_resid_pre'), /tensor "encoder\.weight" of shape \[24, 8\], but cfg\.json implies \[32, 8\]/);
  const enc = transpose(m.wEnc, 8, 24);
  rejects(
    () => readSparsify(folder({ 'cfg.json': json(bare), 'sae.safetensors': encodeSafetensors({ 'encoder.weight': f32(enc, [24, 8]), W_dec: f32(m.wDec, [24, 8]), b_dec: f32(m.bDec, [8]) }) }), 'blocks.0.hook_resid_pre'),
    /has no tensor "encoder\.bias"/,
  );
});
