import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng';
import { encodeSae } from '../../../src/core/sae/encode';
import { tiedSae, type SaeModel, type SaeNormalization } from '../../../src/core/sae/model';
import { createOrtEngine } from '../../../src/core/sae/ortEngine';
import { randomSae } from '../../fixtures/saeModels';
import { referenceSae } from './referenceSae';

const T = 21;
const d = 8;
const L = 32;

function activations(seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = rng.fillNormal(new Float32Array(T * d), 1);
  for (let i = 0; i < x.length; i++) x[i] += 0.7; // a shared offset, as real activations have
  return x;
}

async function assertMatchesReference(m: SaeModel, x: Float32Array): Promise<void> {
  const got = await encodeSae(m, x, T, { threads: 1 });
  const ref = referenceSae(m, x, T);
  let sse = 0;
  for (let t = 0; t < T; t++) {
    const want = [...ref.z[t]].map((v, j) => [j, v] as const).filter(([, v]) => v !== 0).sort((a, b) => b[1] - a[1]);
    const row = [...got.codes.index.subarray(got.codes.rowPtr[t], got.codes.rowPtr[t + 1])];
    assert.deepEqual(row, want.map(([j]) => j), `token ${t}: latents`);
    want.forEach(([, v], e) => assert.ok(Math.abs(got.codes.value[got.codes.rowPtr[t] + e] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `token ${t}: value`));
    for (let i = 0; i < d; i++) sse += (x[t * d + i] - ref.xhat[t][i]) ** 2;
  }
  assert.ok(Math.abs(got.sse - sse) <= 1e-5 * sse, `sse ${got.sse} vs ${sse}`);
  assert.match(got.device, /^cpu \(1 thread\)$/);
}

const NORMALIZATIONS: SaeNormalization[] = [
  { kind: 'none' },
  { kind: 'layer_norm' },
  { kind: 'constant_norm_rescale' },
  { kind: 'expected_average_only_in', scalingFactor: 2.5 },
];
for (const activation of ['relu', 'topk', 'jumprelu'] as const) {
  for (const normalization of NORMALIZATIONS) {
    for (const applyBDecToInput of [true, false]) {
      test(`encode = the float64 reference: ${activation}, ${normalization.kind}, apply_b_dec_to_input ${applyBDecToInput}`, async () => {
        await assertMatchesReference(randomSae({ dIn: d, dSae: L, activation, k: 5, normalization, applyBDecToInput, seed: 3 }), activations(4));
      });
    }
  }
}

test('top-k keeps every value tied with the k-th and only positive ones', async () => {
  const m = randomSae({ dIn: d, dSae: L, activation: 'topk', k: 1, seed: 5 });
  m.bEnc.fill(0);
  m.bDec.fill(0);
  for (let i = 0; i < d; i++) m.wEnc[i * L + 7] = m.wEnc[i * L + 3]; // latents 3 and 7 always tie
  const x = activations(6);
  const { codes } = await encodeSae(m, x, T, { threads: 1 });
  const ref = referenceSae(m, x, T);
  for (let t = 0; t < T; t++) {
    const row = [...codes.index.subarray(codes.rowPtr[t], codes.rowPtr[t + 1])];
    const top = Math.max(...ref.z[t]);
    if (ref.z[t][3] === top && top > 0) assert.deepEqual(row, [3, 7], `token ${t}: both tied latents, lower first`);
    else assert.equal(row.length, top > 0 ? 1 : 0);
    assert.ok([...codes.value.subarray(codes.rowPtr[t], codes.rowPtr[t + 1])].every((v) => v > 0));
  }
});

test('a tied SAE encodes as the trainer does: same codes and Σ‖x − x̂‖² as the ORT engine', async () => {
  const rng = new Rng(8);
  const w = rng.fillUniform(new Float32Array(d * L), -0.3, 0.3);
  const x = activations(9);
  const engine = await createOrtEngine({ hyper: { dIn: d, nLatents: L, k: 6, l1: 0, decor: 0, lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, w0: w, threads: 1, provider: 'cpu' });
  const trained = await engine.encode(x, T);
  await engine.dispose();
  const applied = await encodeSae(tiedSae(w, { dIn: d, nLatents: L, k: 6 }, { hookName: 'blocks.0.hook_mlp_out', modelName: 'gpt2' }), x, T, { threads: 1 });
  assert.deepEqual(applied.codes.rowPtr, trained.codes.rowPtr);
  assert.deepEqual(applied.codes.index, trained.codes.index);
  for (let j = 0; j < trained.codes.value.length; j++) assert.ok(Math.abs(applied.codes.value[j] - trained.codes.value[j]) < 1e-6);
  assert.ok(Math.abs(applied.sse - trained.sse) <= 1e-5 * trained.sse);
});
