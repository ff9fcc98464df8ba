// The causal evidence of an SAE that reads the hook its own way (issue 10): BOS before every window,
// TransformerLens's centring, layer_norm input normalisation — held against the float64 GPT-2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { computeEvidence } from '../../../src/core/evidence/evidence';
import type { SaeDecoder } from '../../../src/core/evidence/types';
import { planWindows } from '../../../src/core/extract';
import { parseHook } from '../../../src/core/hooks';
import { loadModel } from '../../../src/core/model/load';
import { makeTestModel } from '../../../src/core/model/testModel';
import { Rng } from '../../../src/core/rng';
import { decodeToken, END_OF_TEXT_ID } from '../../../src/core/tokenizer';
import { tempRoot } from '../../fixtures/cli';
import { naiveGpt2, naiveNll } from '../reference/gpt2Naive';
import { code, randomSae } from './randomSae';

const root = tempRoot('evidence-view-');
makeTestModel({ out: path.join(root, 'ctx16'), layers: 2, dModel: 32, heads: 2, seed: 5, positions: 16 }); // GPT-2's vocabulary: BOS is 50256
const model = loadModel(path.join(root, 'ctx16'));
const T = 30;
const rng = new Rng(3);
const tokenIds = Array.from({ length: T }, () => 300 + Math.floor(rng.uniform() * 2000));

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

test('BOS, centring and layer_norm: every window runs as [BOS, tokens], the splice and ablations act on the SAE view and go back to the hook', async () => {
  const hookName = 'blocks.1.hook_resid_pre';
  const hook = parseHook(hookName, model.config);
  const w = hook.width;
  const base = randomSae(T, w, 4, 2, 12);
  const decoder: SaeDecoder = { ...base.decoder, normalization: { kind: 'layer_norm' }, site: { prependBos: true, centred: true } };
  const codes = base.codes;
  const tokens = tokenIds.map((id) => ({ id, text: decodeToken(id) }));
  const e = await computeEvidence({ model, hookName, tokens, decoder, codes, groups: { concept: new Uint8Array(T), punctuation: new Uint8Array(T) } }, [1, 8], { threads: 1, provider: 'cpu' });
  const windows = planWindows(T, 15);
  assert.deepEqual(e.windows, windows, 'windows one token shorter: BOS takes a position');
  assert.ok(windows.length >= 2);
  assert.match(e.rule, /Every window starts with BOS/);

  const want = { clean: new Float64Array(T - 1), spliced: new Float64Array(T - 1), zero: new Float64Array(T - 1), l1: new Float64Array(T - 1), l8: new Float64Array(T - 1) };
  let sse = 0;
  const views: number[][] = [];
  for (const win of windows) {
    const ids = [END_OF_TEXT_ID, ...tokenIds.slice(win.start, win.end)];
    const next = win.end < T ? [tokenIds[win.end]] : [];
    const x = naiveGpt2(model, ids, hook.layer).get(hookName)!;
    const first = 1 + win.keepFrom - win.start; // the first supplied row, after BOS
    const versions = { clean: Float64Array.from(x), spliced: Float64Array.from(x), zero: Float64Array.from(x), l1: Float64Array.from(x), l8: Float64Array.from(x) };
    for (let j = first; j < ids.length; j++) {
      const t = win.start + j - 1;
      const raw = Array.from(x.subarray(j * w, (j + 1) * w));
      const mean = raw.reduce((a, b) => a + b, 0) / w;
      const view = raw.map((v) => v - mean);
      views.push(view);
      const mu = view.reduce((a, b) => a + b, 0) / w;
      const sigma = Math.sqrt(view.reduce((a, v) => a + (v - mu) ** 2, 0) / (w - 1));
      for (let i = 0; i < w; i++) {
        let dec = decoder.bDec[i];
        for (let l = 0; l < 10; l++) dec += code(codes, t, l) * decoder.wDec[l * w + i];
        const xhat = dec * sigma + mu;
        sse += (view[i] - xhat) ** 2;
        versions.spliced[j * w + i] = xhat + mean;
        versions.zero[j * w + i] = 0;
        versions.l1[j * w + i] -= code(codes, t, 1) * sigma * decoder.wDec[1 * w + i];
        versions.l8[j * w + i] -= code(codes, t, 8) * sigma * decoder.wDec[8 * w + i];
      }
    }
    for (const [name, v] of Object.entries(versions)) {
      const padded = new Float64Array((ids.length + next.length) * w);
      padded.set(v);
      const losses = naiveNll(model, [...ids, ...next], new Map([[hookName, padded]]));
      for (let t = win.keepFrom; t < win.end && t <= T - 2; t++) want[name as keyof typeof want][t] = losses[1 + t - win.start];
    }
  }
  assertClose(e.fidelity.perPosition.clean, want.clean, 'clean');
  assertClose(e.fidelity.perPosition.spliced, want.spliced, 'spliced');
  assertClose(e.fidelity.perPosition.zeroAblation, want.zero, 'zero');
  assertClose(e.latents[0].ablation.perPosition, want.l1.map((v, t) => v - want.clean[t]), 'latent 1');
  assertClose(e.latents[1].ablation.perPosition, want.l8.map((v, t) => v - want.clean[t]), 'latent 8');
  const xbar = Array.from({ length: w }, (_, i) => views.reduce((a, v) => a + v[i], 0) / T);
  const fve = 1 - sse / views.reduce((a, v) => a + v.reduce((b, vi, i) => b + (vi - xbar[i]) ** 2, 0), 0);
  assert.ok(Math.abs(e.fidelity.fve - fve) < 1e-4, `FVE ${e.fidelity.fve} vs ${fve}`);
  assert.ok(Math.abs(e.fidelity.ceSpliced - e.fidelity.ceClean) > 1e-3, 'the splice changes the loss (not a vacuous test)');
});
