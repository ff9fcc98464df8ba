import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../../src/core/errors';
import { computeEvidence, type EvidenceInputs } from '../../../src/core/evidence/evidence';
import type { SaeDecoder } from '../../../src/core/evidence/types';
import { planWindows } from '../../../src/core/extract';
import { HOOK_KINDS, hookName, parseHook } from '../../../src/core/hooks';
import { loadModel, tensor, WEIGHTS_FILE, type Gpt2Model } from '../../../src/core/model/load';
import { makeTestModel } from '../../../src/core/model/testModel';
import { Rng } from '../../../src/core/rng';
import { readSafetensors } from '../../../src/core/safetensors';
import type { SparseCodes } from '../../../src/core/sae/types';
import { decodeToken } from '../../../src/core/tokenizer';
import { tempRoot } from '../../fixtures/cli';
import { naiveGpt2, naiveLogitMatrix, naiveNll } from '../reference/gpt2Naive';
import { code, randomSae, reconstruction64 } from './randomSae';

const root = tempRoot('evidence-');
makeTestModel({ out: path.join(root, 'small'), layers: 2, dModel: 32, heads: 2, seed: 3, vocab: 100, positions: 64 });
makeTestModel({ out: path.join(root, 'ctx16'), layers: 2, dModel: 32, heads: 2, seed: 5, vocab: 100, positions: 16 });
const small = loadModel(path.join(root, 'small'));
const ctx16 = loadModel(path.join(root, 'ctx16'));
const OPTS = { threads: 1, provider: 'cpu' } as const;
const TOL = 1e-4;

function ids(T: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: T }, () => Math.floor(rng.uniform() * 100));
}

/** Concept tokens: every 4th; punctuation: ids below 15 (GPT-2's "!"…"/" are ids 0–14). */
function inputs(model: Gpt2Model, hook: string, tokenIds: number[], sae: { decoder: SaeDecoder; codes: SparseCodes }): EvidenceInputs {
  return {
    model,
    hookName: hook,
    tokens: tokenIds.map((id) => ({ id, text: decodeToken(id) })),
    ...sae,
    groups: { concept: Uint8Array.from(tokenIds, (_, t) => (t % 4 === 0 ? 1 : 0)), punctuation: Uint8Array.from(tokenIds, (id) => (id < 15 ? 1 : 0)) },
  };
}

const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = TOL): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

/** x − z_l·W_dec[l] at every token, from the reference activations x [T, w]. */
function ablated64(x: Float64Array, sae: { decoder: SaeDecoder; codes: SparseCodes }, l: number): Float64Array {
  const w = sae.decoder.dIn;
  return x.map((v, k) => v - code(sae.codes, Math.floor(k / w), l) * sae.decoder.wDec[l * w + (k % w)]);
}

const HOOKS = [...HOOK_KINDS.map((k) => hookName(0, k)), 'blocks.1.hook_resid_post'];

test('fidelity: CE clean, spliced, zero-ablated and recovered agree with the float64 reference at every hook kind', async () => {
  const tokenIds = ids(24, 1);
  for (const hook of HOOKS) {
    const h = parseHook(hook, small.config);
    const sae = randomSae(24, h.width, 2, 3);
    const e = await computeEvidence(inputs(small, hook, tokenIds, sae), [], OPTS);
    const clean = naiveNll(small, tokenIds);
    const spliced = naiveNll(small, tokenIds, new Map([[hook, reconstruction64(sae.decoder, sae.codes, 0, 24)]]));
    const zero = naiveNll(small, tokenIds, new Map([[hook, new Float64Array(24 * h.width)]]));
    const f = e.fidelity;
    assert.equal(f.positions, 23);
    const x = naiveGpt2(small, tokenIds, h.layer).get(hook)!;
    const xhat = reconstruction64(sae.decoder, sae.codes, 0, 24);
    const xbar = Array.from({ length: h.width }, (_, i) => mean(Array.from({ length: 24 }, (_, t) => x[t * h.width + i])));
    const fve = 1 - x.reduce((s, v, k) => s + (v - xhat[k]) ** 2, 0) / x.reduce((s, v, k) => s + (v - xbar[k % h.width]) ** 2, 0);
    assert.ok(Math.abs(f.fve - fve) <= 1e-4 * Math.max(1, Math.abs(fve)), `${hook} FVE ${f.fve} vs ${fve}`);
    assertClose(f.perPosition.clean, clean, `${hook} clean`);
    assertClose(f.perPosition.spliced, spliced, `${hook} spliced`);
    assertClose(f.perPosition.zeroAblation, zero, `${hook} zero`);
    assertClose([f.ceClean, f.ceSpliced, f.ceZeroAblation], [mean(clean), mean(spliced), mean(zero)], `${hook} means`);
    const recovered = (mean(zero) - mean(spliced)) / (mean(zero) - mean(clean));
    assert.ok(Math.abs(f.ceRecovered! - recovered) <= 1e-3 * Math.max(1, Math.abs(recovered)), `${hook} recovered ${f.ceRecovered} vs ${recovered}`);
    // From the printed CEs (9 significant digits) the ratio comes back up to their rounding over the span.
    const span = f.ceZeroAblation - f.ceClean;
    assert.ok(Math.abs(f.ceRecovered! - (f.ceZeroAblation - f.ceSpliced) / span) <= (3e-8 * f.ceZeroAblation * Math.max(1, Math.abs(recovered))) / Math.abs(span), `${hook}: recovered from the printed CEs`);
    assert.ok(Math.abs(mean(spliced) - mean(clean)) > 1e-3, `${hook}: the splice changes the loss (not a vacuous test)`);
    assert.equal(e.perWindow, false);
    assert.match(e.rule, /one window/);
  }
});

test('ablation keeps the SAE error term: Δ_t agrees with the reference; zero before the latent first fires and for a dead latent; group means', async () => {
  const tokenIds = ids(24, 4);
  for (const hook of ['blocks.0.hook_mlp_out', 'blocks.0.mlp.hook_post', 'blocks.1.hook_resid_pre', 'blocks.0.mlp.hook_pre']) {
    const h = parseHook(hook, small.config);
    const sae = randomSae(24, h.width, 5, 2);
    const inp = inputs(small, hook, tokenIds, sae);
    const e = await computeEvidence(inp, [1, 8, 9], OPTS);
    assert.deepEqual(e.latents.map((l) => l.latent), [1, 8, 9]);
    const x = naiveGpt2(small, tokenIds, h.layer).get(hook)!;
    const clean = naiveNll(small, tokenIds);
    for (const [k, l] of [1, 8].entries()) {
      const want = naiveNll(small, tokenIds, new Map([[hook, ablated64(x, sae, l)]])).map((v, t) => v - clean[t]);
      const a = e.latents[k].ablation;
      assertClose(a.perPosition, want, `${hook} latent ${l}`);
      assert.ok(Math.max(...want.map(Math.abs)) > 1e-2, `${hook} latent ${l}: ablation has an effect`);
      assert.ok(Math.abs(a.meanDeltaLoss - mean(a.perPosition)) < 1e-6 && a.maxDeltaLoss === Math.max(...a.perPosition));
      const groupMean = (g: Uint8Array) => mean(a.perPosition.filter((_, t) => g[t + 1]));
      assert.ok(Math.abs(a.conceptNext.meanDeltaLoss! - groupMean(inp.groups.concept)) < 1e-6);
      assert.equal(a.conceptNext.positions, a.perPosition.filter((_, t) => inp.groups.concept[t + 1]).length);
      assert.ok(Math.abs(a.punctuationNext.meanDeltaLoss! - groupMean(inp.groups.punctuation)) < 1e-6);
    }
    assert.equal(e.latents[0].ablation.perPosition[0], 0, 'latent 1 first fires at token 1: position 0 is untouched');
    assert.deepEqual(e.latents[1].ablation.perPosition.slice(0, 10), new Array(10).fill(0), 'latent 8 fires from token 10 on');
    assert.equal(e.latents[1].ablation.firingTokens, 14);
    const dead = e.latents[2].ablation;
    assert.deepEqual([dead.firingTokens, dead.meanDeltaLoss, dead.maxDeltaLoss, new Set(dead.perPosition).size], [0, 0, 0, 1]);
  }
});

test('logit effects: the decoder row (· mlp.c_proj for mlp.hook_post) times wteᵀ, 10 most promoted and suppressed; mlp.hook_pre has none, with the reason', async () => {
  const tokenIds = ids(12, 6);
  const wte = naiveLogitMatrix(small);
  const { tensors } = readSafetensors(small.weightsPath);
  const cProj = tensors.get('h.0.mlp.c_proj.weight')!.data as Float32Array; // [4d, d]
  for (const hook of ['blocks.0.hook_mlp_out', 'blocks.0.mlp.hook_post', 'blocks.1.hook_resid_mid', 'blocks.0.hook_attn_out']) {
    const h = parseHook(hook, small.config);
    const sae = randomSae(12, h.width, 7);
    const e = await computeEvidence(inputs(small, hook, tokenIds, sae), [3, 9], OPTS);
    for (const [k, l] of [3, 9].entries()) {
      const row = Array.from(sae.decoder.wDec.subarray(l * h.width, (l + 1) * h.width));
      const dir = h.kind === 'mlp.hook_post' ? Array.from({ length: 32 }, (_, j) => row.reduce((s, v, i) => s + v * cProj[i * 32 + j], 0)) : row;
      const logits = Array.from({ length: 100 }, (_, v) => dir.reduce((s, x, j) => s + x * wte[v * 32 + j], 0));
      const order = logits.map((_, v) => v).sort((a, b) => logits[b] - logits[a]);
      const got = e.latents[k].logits;
      assert.ok(!('omitted' in got));
      assert.deepEqual(got.top.map((t) => t.id), order.slice(0, 10), `${hook} latent ${l} top`);
      assert.deepEqual(got.bottom.map((t) => t.id), order.slice(-10).reverse(), `${hook} latent ${l} bottom`);
      assertClose(got.top.map((t) => t.value), order.slice(0, 10).map((v) => logits[v]), `${hook} top values`, 1e-5);
      assertClose(got.bottom.map((t) => t.value), order.slice(-10).reverse().map((v) => logits[v]), `${hook} bottom values`, 1e-5);
      assert.deepEqual(got.top.map((t) => t.token), order.slice(0, 10).map(decodeToken));
    }
  }
  const pre = await computeEvidence(inputs(small, 'blocks.0.mlp.hook_pre', tokenIds, randomSae(12, 128, 7)), [3], OPTS);
  const logits = pre.latents[0].logits;
  assert.ok('omitted' in logits && /blocks\.0\.mlp\.hook_pre.*GELU.*no linear path to the logits/.test(logits.omitted));
  assert.equal(pre.latents[0].ablation.perPosition.length, 11, 'the ablation is still computed');
});

test('windows: each position is scored in the window that supplies it, the hook replaced only at supplied positions; the result says it is per window', async () => {
  const T = 40; // P = 16: windows [0,16) keep 0, [12,28) keep 16, [24,40) keep 28
  const tokenIds = ids(T, 8);
  const hook = 'blocks.0.hook_mlp_out';
  const sae = randomSae(T, 32, 9, 2, 20);
  const e = await computeEvidence(inputs(ctx16, hook, tokenIds, sae), [1, 8], OPTS);
  const windows = planWindows(T, 16);
  assert.deepEqual(e.windows, windows);
  assert.equal(windows.length, 3);
  assert.equal(e.perWindow, true);
  assert.match(e.rule, /per window, in 3 windows/);
  assert.match(e.rule, /first 4 context positions keep their clean activations/);

  const want = { clean: new Float64Array(T - 1), spliced: new Float64Array(T - 1), zero: new Float64Array(T - 1), l1: new Float64Array(T - 1), l8: new Float64Array(T - 1) };
  for (const win of windows) {
    const wIds = tokenIds.slice(win.start, win.end);
    const n = wIds.length;
    const keep = (win.keepFrom - win.start) * 32;
    const x = naiveGpt2(ctx16, wIds, 0).get(hook)!;
    /** x with its supplied rows [keepFrom, end) replaced by `rows`. */
    const supplied = (rows: Float64Array) => {
      const v = Float64Array.from(x);
      v.set(rows, keep);
      return v;
    };
    // The window's own last position predicts the first token of the next window: append it as the target.
    const next = win.end < T ? [tokenIds[win.end]] : [];
    const nll = (v: Float64Array) => {
      const padded = new Float64Array((n + next.length) * 32);
      padded.set(v);
      return naiveNll(ctx16, [...wIds, ...next], new Map([[hook, padded]]));
    };
    const versions = {
      clean: x,
      spliced: supplied(reconstruction64(sae.decoder, sae.codes, win.keepFrom, win.end)),
      zero: supplied(new Float64Array(n * 32 - keep)),
      l1: supplied(ablated64(Float64Array.from(x.subarray(keep)), { ...sae, codes: shifted(sae.codes, win.keepFrom, win.end) }, 1)),
      l8: supplied(ablated64(Float64Array.from(x.subarray(keep)), { ...sae, codes: shifted(sae.codes, win.keepFrom, win.end) }, 8)),
    };
    for (const [name, v] of Object.entries(versions)) {
      const losses = nll(v);
      for (let t = win.keepFrom; t < win.end && t <= T - 2; t++) want[name as keyof typeof want][t] = losses[t - win.start];
    }
  }
  assertClose(e.fidelity.perPosition.clean, want.clean, 'clean');
  assertClose(e.fidelity.perPosition.spliced, want.spliced, 'spliced');
  assertClose(e.fidelity.perPosition.zeroAblation, want.zero, 'zero');
  assertClose(e.latents[0].ablation.perPosition, want.l1.map((v, t) => v - want.clean[t]), 'latent 1');
  assertClose(e.latents[1].ablation.perPosition, want.l8.map((v, t) => v - want.clean[t]), 'latent 8');
  assert.deepEqual(e.latents[1].ablation.perPosition.slice(0, 20), new Array(20).fill(0), 'latent 8 fires from token 20 on: windows 0 and the first half of 1 untouched');
});

/** Rows [from, to) of CSR codes as codes of their own. */
function shifted(codes: SparseCodes, from: number, to: number): SparseCodes {
  const base = codes.rowPtr[from];
  return {
    rowPtr: codes.rowPtr.slice(from, to + 1).map((p) => p - base),
    index: codes.index.slice(base, codes.rowPtr[to]),
    value: codes.value.slice(base, codes.rowPtr[to]),
  };
}

test('versions run one at a time or many per run give the same numbers', async () => {
  const tokenIds = ids(20, 10);
  const inp = inputs(small, 'blocks.0.hook_mlp_out', tokenIds, randomSae(20, 32, 11));
  const one = await computeEvidence(inp, [0, 1, 2, 3, 8], { ...OPTS, batchRows: 1 });
  const many = await computeEvidence(inp, [0, 1, 2, 3, 8], { ...OPTS, batchRows: 1000 });
  assertClose(many.fidelity.perPosition.spliced, one.fidelity.perPosition.spliced, 'spliced', 1e-5);
  many.latents.forEach((l, k) => assertClose(l.ablation.perPosition, one.latents[k].ablation.perPosition, `latent ${l.latent}`, 1e-5));
});

test('bad input: latent out of range, fewer than 2 tokens, a decoder that does not fit the hook', async () => {
  const tokenIds = ids(8, 12);
  const inp = inputs(small, 'blocks.0.hook_mlp_out', tokenIds, randomSae(8, 32, 13));
  for (const bad of [10, -1, 2.5]) {
    await assert.rejects(computeEvidence(inp, [1, bad], OPTS), (e: unknown) => e instanceof UserError && e.code === 'E_LATENT' && new RegExp(`latent ${bad} is out of range: this SAE has 10 latents, numbered 0 to 9`).test(e.message));
  }
  const one = inputs(small, 'blocks.0.hook_mlp_out', [5], randomSae(1, 32, 13));
  await assert.rejects(computeEvidence(one, [], OPTS), (e: unknown) => e instanceof UserError && /at least 2 tokens/.test(e.message));
  const wide = inputs(small, 'blocks.0.hook_mlp_out', tokenIds, randomSae(8, 128, 13));
  await assert.rejects(computeEvidence(wide, [], OPTS), (e: unknown) => e instanceof UserError && /does not fit blocks\.0\.hook_mlp_out, which is 32 wide/.test(e.message));
});

test('bad input: NaN in a spliced forward: a UserError naming the pass and the token, for a NaN in the decoder or an overflow inside GPT-2', async () => {
  const tokenIds = ids(8, 14);
  const sae = randomSae(8, 32, 15);
  sae.decoder.wDec[2 * 32 + 5] = NaN; // latent 2 fires at token 2
  await assert.rejects(computeEvidence(inputs(small, 'blocks.0.hook_mlp_out', tokenIds, sae), [], OPTS), (e: unknown) => e instanceof UserError && e.code === 'E_NONFINITE' && /spliced .* value of blocks\.0\.hook_mlp_out is NaN at token 2: .*nothing was written/.test(e.message));

  // A finite but huge reconstruction overflows where every c_proj weight is 0.05: Σ over 128 units of 1e38 · 0.05 = Inf.
  const dir = path.join(root, 'overflow');
  makeTestModel({ out: dir, layers: 2, dModel: 32, heads: 2, seed: 3, vocab: 100, positions: 64 });
  const entry = tensor(loadModel(dir), 'h.0.mlp.c_proj.weight');
  const fd = fs.openSync(path.join(dir, WEIGHTS_FILE), 'r+');
  fs.writeSync(fd, new Uint8Array(new Float32Array((entry.end - entry.begin) / 4).fill(0.05).buffer), 0, entry.end - entry.begin, entry.begin);
  fs.closeSync(fd);
  const huge = randomSae(8, 128, 15);
  huge.decoder.bDec.fill(1e38);
  await assert.rejects(
    computeEvidence(inputs(loadModel(dir), 'blocks.0.mlp.hook_post', tokenIds, huge), [], OPTS),
    (e: unknown) => e instanceof UserError && e.code === 'E_NONFINITE' && /the spliced .* forward pass of blocks\.0\.mlp\.hook_post gave a non-finite loss at \d+ of 7 positions \(first: token \d+/.test(e.message),
  );
});
