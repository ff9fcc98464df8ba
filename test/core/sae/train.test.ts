import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { isCancelled, UserError } from '../../../src/core/errors';
import { totalVariance } from '../../../src/core/sae/metrics';
import { saeConfig, type SaeShape } from '../../../src/core/sae/config';
import { planBatches, trainSae } from '../../../src/core/sae/train';
import { mixtureActivations } from '../../fixtures/mixtures';

const T = 64;
const dIn = 16;

/** Activations with structure: sparse non-negative mixtures of 24 fixed directions, plus noise. */
const activations = (T: number, seed = 1) => mixtureActivations({ T, dIn, directions: 24, perToken: 3, cMin: 1, noise: 0.05, seed });

const shape: SaeShape = { dIn, nLatents: 48, k: 6 };
const cfg = saeConfig({ latents: '48', k: '6', lr: 1e-2, epochs: 20 });

function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  return assert.rejects(p, (e: unknown) => e instanceof UserError && re.test(e.message));
}

test('k = 0 is rejected before any work', () => rejects(trainSae(activations(T), T, dIn, { ...shape, k: 0 }, cfg, { engine: 'tfjs' }), /k must be an integer from 1 to 47.*got 0/));
test('negative k is rejected', () => rejects(trainSae(activations(T), T, dIn, { ...shape, k: -3 }, cfg, { engine: 'tfjs' }), /k must be .*got -3/));
test('k equal to the number of latents is rejected', () => rejects(trainSae(activations(T), T, dIn, { ...shape, k: 48 }, cfg, { engine: 'tfjs' }), /fewer than the 48 latents.*got 48/));
test('k above the number of latents is rejected', () => rejects(trainSae(activations(T), T, dIn, { ...shape, k: 100 }, cfg, { engine: 'tfjs' }), /got 100/));
test('zero latents are rejected', () => rejects(trainSae(activations(T), T, dIn, { ...shape, nLatents: 0 }, cfg, { engine: 'tfjs' }), /number of latents must be an integer ≥ 1, got 0/));
test('zero epochs are rejected', () => rejects(trainSae(activations(T), T, dIn, shape, { ...cfg, epochs: 0 }, { engine: 'tfjs' }), /epochs must be an integer ≥ 1, got 0/));
test('negative epochs are rejected', () => rejects(trainSae(activations(T), T, dIn, shape, { ...cfg, epochs: -5 }, { engine: 'tfjs' }), /epochs .* got -5/));
test('a zero learning rate is rejected', () => rejects(trainSae(activations(T), T, dIn, shape, { ...cfg, lr: 0 }, { engine: 'tfjs' }), /learning rate must be a positive number, got 0/));
test('a negative learning rate is rejected', () => rejects(trainSae(activations(T), T, dIn, shape, { ...cfg, lr: -1e-4 }, { engine: 'tfjs' }), /learning rate .* got -0\.0001/));
test('one token is too few', () => rejects(trainSae(activations(1), 1, dIn, shape, cfg, { engine: 'tfjs' }), /at least 2 tokens, got 1/));
test('zero tokens are too few', () => rejects(trainSae(new Float32Array(0), 0, dIn, shape, cfg, { engine: 'tfjs' }), /at least 2 tokens, got 0/));

test('NaN activations name the first bad token', () => {
  const x = activations(T);
  x[37 * dIn + 5] = NaN;
  x[50 * dIn] = NaN;
  return rejects(trainSae(x, T, dIn, shape, cfg, { engine: 'tfjs' }), /token 37 contain NaN \(feature 5\)/);
});

test('infinite activations name the first bad token', () => {
  const x = activations(T);
  x[3 * dIn + 1] = -Infinity;
  return rejects(trainSae(x, T, dIn, shape, cfg, { engine: 'tfjs' }), /token 3 contain -Infinity/);
});

test('activations of another width than d_in are rejected', () => rejects(trainSae(activations(T), T, dIn, { ...shape, dIn: 32 }, cfg, { engine: 'tfjs' }), /16 features per token but the SAE is set up for d_in 32/));
test('an activation buffer of the wrong length is rejected', () => rejects(trainSae(activations(T).subarray(1), T, dIn, shape, cfg, { engine: 'tfjs' }), /not 64 tokens × 16 features/));
test('identical activations on every token are rejected', () => rejects(trainSae(new Float32Array(T * dIn).fill(1), T, dIn, shape, cfg, { engine: 'tfjs' }), /identical activations/));
test('a batch limit below 2 tokens is rejected', () => rejects(trainSae(activations(T), T, dIn, shape, { ...cfg, batchTokens: 1 }, { engine: 'tfjs' }), /batch size must be an integer ≥ 2/));
test('an unknown engine is rejected', () => rejects(trainSae(activations(T), T, dIn, shape, cfg, { engine: 'cuda' as never }), /unknown engine "cuda"/));

/** JS forward of the trained SAE from its codes: Σ‖x − codes·Wᵀ‖². */
function sseFromCodes(x: Float32Array, w: Float32Array, codes: { rowPtr: Int32Array; index: Int32Array; value: Float32Array }, L: number): number {
  let sse = 0;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < dIn; i++) {
      let xh = 0;
      for (let j = codes.rowPtr[t]; j < codes.rowPtr[t + 1]; j++) xh += codes.value[j] * w[i * L + codes.index[j]];
      sse += (x[t * dIn + i] - xh) ** 2;
    }
  }
  return sse;
}

test('full-batch training on tfjs: loss falls, and final FVE, L0, dead fraction and density follow from the codes', async () => {
  const x = activations(T);
  const seen: number[] = [];
  const r = await trainSae(x, T, dIn, shape, cfg, { engine: 'tfjs', onProgress: (epoch, epochs, m, eta) => {
    seen.push(epoch);
    assert.equal(epochs, 20);
    assert.ok(eta >= 0 && m.ms >= 0);
  } });
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i + 1));
  const c = r.metrics.curve;
  assert.equal(c.length, 20);
  assert.ok(c[19].loss < 0.5 * c[0].loss, `loss ${c[0].loss} → ${c[19].loss}`);
  assert.equal(r.metrics.engine, 'tfjs');
  assert.equal(r.metrics.batching, 'full batch of 64 tokens');
  for (const m of c) assert.ok(m.l0 <= shape.k && m.dead_fraction >= 0 && m.dead_fraction <= 1);

  const f = r.metrics.final;
  const L = shape.nLatents;
  const fve = 1 - sseFromCodes(x, r.w, r.codes, L) / totalVariance(x, T, dIn);
  assert.ok(Math.abs(f.fve - fve) < 1e-4, `${f.fve} vs ${fve}`);
  assert.equal(f.l0, r.codes.index.length / T);
  const fired = new Set(r.codes.index);
  assert.equal(f.dead_fraction, 1 - fired.size / L);
  assert.equal(f.layer_density, 100 * (fired.size / L));
  // MSE only (λ1 = λc = 0): the final loss is the mean squared error of the codes' reconstruction, computed here.
  const mse = sseFromCodes(x, r.w, r.codes, L) / (T * dIn);
  assert.ok(Math.abs(f.loss - mse) <= 1e-5 * mse, `final loss ${f.loss} vs the codes' MSE ${mse}`);
});

test('minibatch mode: shuffled batches below the limit, said in the summary, reproducible', async () => {
  const x = activations(T);
  const run = () => trainSae(x, T, dIn, shape, { ...cfg, epochs: 5, batchTokens: 20 }, { engine: 'tfjs' });
  const a = await run();
  assert.match(a.metrics.batching, /4 shuffled minibatches of ≤ 16 tokens per epoch \(64 tokens > batch limit 20; shuffle seed 0\)/);
  assert.equal(a.codes.rowPtr.length, T + 1);
  assert.ok(a.metrics.curve[4].loss < a.metrics.curve[0].loss);
  const b = await run();
  assert.deepEqual(b.w, a.w);
  const full = await trainSae(x, T, dIn, shape, { ...cfg, epochs: 5 }, { engine: 'tfjs' });
  assert.notDeepEqual(full.w, a.w);
});

test('the decorrelation and L1 terms are reported, and the final loss adds them with their weights', async () => {
  const x = activations(T);
  const r = await trainSae(x, T, dIn, shape, { ...cfg, epochs: 3, l1: 0.5, decor: 0.01 }, { engine: 'tfjs' });
  const f = r.metrics.final;
  assert.ok(f.decor > 0 && f.l1 > 0);
  assert.ok(Math.abs(f.loss - (f.mse + 0.5 * f.l1 + 0.01 * f.decor)) < 1e-9 * f.loss);
  for (const m of r.metrics.curve) assert.ok(Math.abs(m.loss - (m.mse + 0.5 * m.l1 + 0.01 * m.decor)) < 1e-5 * m.loss);
});

test('cancelling mid-epoch (between minibatches) stops before the next step with a cancel error', async () => {
  const big = 20000;
  const x = activations(big);
  const ac = new AbortController();
  let epochs = 0;
  let steps = 0;
  await assert.rejects(
    trainSae(x, big, dIn, shape, { ...cfg, epochs: 1000, batchTokens: 4 }, {
      engine: 'tfjs',
      signal: ac.signal,
      onProgress: () => epochs++,
      onStep: (_step, perEpoch) => {
        assert.equal(perEpoch, 5000);
        if (++steps === 3) ac.abort();
      },
    }),
    (e: unknown) => isCancelled(e),
  );
  assert.equal(epochs, 0, 'the abort landed inside the first epoch (5000 minibatches)');
  assert.equal(steps, 3, 'no step ran after the abort');
});

test('an already aborted signal does no work', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(trainSae(activations(T), T, dIn, shape, cfg, { engine: 'tfjs', signal: ac.signal }), (e: unknown) => isCancelled(e));
});

test('minibatches are balanced and never smaller than 2 tokens (the covariance needs n − 1 > 0)', () => {
  for (const [T, max] of [[3, 2], [5, 2], [7, 3], [10, 4], [4097, 4096], [9000, 4096]]) {
    const { sizes } = planBatches(T, max, 0);
    assert.equal(sizes.reduce((a, b) => a + b, 0), T, `T ${T}, limit ${max}: sizes add up`);
    assert.ok(Math.min(...sizes) >= 2, `T ${T}, limit ${max}: ${sizes}`);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `T ${T}, limit ${max}: balanced ${sizes}`);
    assert.ok(Math.max(...sizes) <= Math.max(max, 3), `T ${T}, limit ${max}: within the limit ${sizes}`);
  }
});

test('T = 3 with a batch limit of 2 trains with the covariance term (no 1-token batch)', async () => {
  const x = activations(3);
  const r = await trainSae(x, 3, dIn, shape, { ...cfg, decor: 0.0005, epochs: 2, batchTokens: 2 }, { engine: 'ort' });
  assert.match(r.metrics.batching, /^1 shuffled minibatches of ≤ 3 tokens/, 'one batch of all 3 tokens, not a 2 + 1 split');
  for (const m of r.metrics.curve) assert.ok(m.decor > 0 && Number.isFinite(m.decor), `epoch ${m.epoch}: covariance term ${m.decor}`);
  const f = r.metrics.final;
  assert.ok(f.decor > 0 && Number.isFinite(f.loss));
  assert.ok(Math.abs(f.loss - (f.mse + 0.0005 * f.decor)) <= 1e-9 * f.loss, 'the final loss adds the covariance term with its weight');
});

test('without a thread count (setting threads = 0) the ORT engine on the CPU runs one thread per CPU, and says how many', async () => {
  const x = activations(T);
  const own = await trainSae(x, T, dIn, shape, { ...cfg, epochs: 1 }, { engine: 'ort' });
  const n = os.availableParallelism();
  assert.equal(own.metrics.device, `cpu (${n} thread${n === 1 ? '' : 's'})`);
  const two = await trainSae(x, T, dIn, shape, { ...cfg, epochs: 1 }, { engine: 'ort', threads: 2 });
  assert.equal(two.metrics.device, 'cpu (2 threads)');
});

test('AuxK in full-batch training: the dead latents of epoch e are those that fired in no token of epoch e − 1 (the dead-fraction window)', async () => {
  const x = activations(T);
  const r = await trainSae(x, T, dIn, shape, { ...cfg, epochs: 8, auxk: 1 / 32 }, { engine: 'tfjs' });
  const c = r.metrics.curve;
  assert.equal(c[0].auxk, 0, 'nothing is dead in the first epoch');
  for (let e = 1; e < c.length; e++) assert.equal(c[e].auxk! > 0, c[e - 1].dead_fraction > 0, `epoch ${e + 1}: auxk ${c[e].auxk}, dead fraction before ${c[e - 1].dead_fraction}`);
  assert.ok(c.some((m) => m.auxk! > 0), 'no latent was dead in any epoch; change the fixture');
  for (const m of c) assert.ok(Math.abs(m.loss - (m.mse + m.auxk! / 32)) <= 1e-5 * m.loss, 'the loss adds AuxK with weight 1/32');
  const off = await trainSae(x, T, dIn, shape, { ...cfg, epochs: 2 }, { engine: 'tfjs' });
  assert.deepEqual(off.metrics.curve.map((m) => m.auxk), [0, 0], 'the presets train without AuxK');
});

test('schedule: --epochs N runs exactly N epochs; --steps N exactly N steps, the last epoch partial and its metrics over its own tokens', async () => {
  const x = activations(T);
  const mini = { ...cfg, batchTokens: 20 }; // 4 minibatches of 16 per epoch
  const epochs = await trainSae(x, T, dIn, shape, saeConfig({ ...mini, epochs: 3 }), { engine: 'tfjs' });
  assert.equal(epochs.metrics.curve.length, 3);
  assert.deepEqual(epochs.metrics.schedule, { epochs: 3, steps: 12, tokens: 3 * T, stopped: 'epochs', why: 'the epoch limit of 3 epochs' });
  const steps = await trainSae(x, T, dIn, shape, saeConfig({ latents: '48', k: '6', lr: 1e-2, batchTokens: 20, steps: 10 }), { engine: 'tfjs' });
  const s = steps.metrics.schedule;
  assert.deepEqual([s.epochs, s.steps, s.tokens, s.stopped], [3, 10, 160, 'steps']);
  const last = steps.metrics.curve[2];
  assert.equal(last.tokens, 32, 'the third epoch trained on 2 of its 4 minibatches');
  assert.equal(steps.metrics.curve[1].tokens, undefined, 'whole epochs do not repeat their token count');
  assert.ok(Number.isFinite(last.fve) && last.l0 <= shape.k);
  // The first 2 epochs are those of an epochs-only run with the same seed: a budget only cuts the end.
  assert.deepEqual(steps.metrics.curve.slice(0, 2).map(({ ms: _, ...m }) => m), epochs.metrics.curve.slice(0, 2).map(({ ms: _, ...m }) => m));
});

test('schedule: --tokens N stops at the first step that reaches N tokens (whole minibatches)', async () => {
  const x = activations(T);
  const r = await trainSae(x, T, dIn, shape, saeConfig({ latents: '48', k: '6', lr: 1e-2, batchTokens: 20, tokens: 100 }), { engine: 'tfjs' });
  const s = r.metrics.schedule;
  assert.deepEqual([s.steps, s.tokens, s.stopped], [7, 112, 'tokens']);
  assert.equal(s.why, 'the token budget of 100 tokens (112 trained: whole minibatches)');
});

test('schedule: early stopping ends training when FVE gains less than the threshold over the window, and says by how much', async () => {
  const x = activations(T);
  const seen: [number, number][] = [];
  // An impossible threshold: the first check (after window + 1 epochs) stops.
  const r = await trainSae(x, T, dIn, shape, { ...cfg, epochs: 50, earlyStop: { threshold: 10, window: 3 } }, { engine: 'tfjs', onProgress: (e, max) => seen.push([e, max]) });
  const c = r.metrics.curve;
  assert.equal(c.length, 4);
  assert.equal(r.metrics.schedule.stopped, 'early-stop');
  const gain = c[3].fve - c[0].fve;
  assert.equal(r.metrics.schedule.why, `early stopping: FVE gained ${gain.toFixed(4)} (${c[0].fve.toFixed(4)} → ${c[3].fve.toFixed(4)}) over the last 3 epochs, less than 10`);
  assert.deepEqual(seen.map(([, max]) => max), [50, 50, 50, 50], 'progress counts against the most epochs the schedule allows');
  // A threshold of 0 stops only when FVE stops rising: not within 20 epochs of this fixture.
  const never = await trainSae(x, T, dIn, shape, { ...cfg, epochs: 20, earlyStop: { threshold: 0, window: 3 } }, { engine: 'tfjs' });
  assert.equal(never.metrics.schedule.stopped, 'epochs');
});
