import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../src/core/errors';
import { extractActivations, planWindows } from '../../src/core/extract';
import { HOOK_KINDS, hookName, parseHook } from '../../src/core/hooks';
import { loadModel } from '../../src/core/model/load';
import { releaseGpt2Sessions } from '../../src/core/model/sessions';
import { makeTestModel } from '../../src/core/model/testModel';
import { cudaProviderInstalled } from '../../src/core/ortSessions';
import { tokenize, type Token } from '../../src/core/tokenizer';
import { naiveGpt2 } from './reference/gpt2Naive';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'extract-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));
makeTestModel({ out: path.join(root, 'tiny'), layers: 2, dModel: 64, heads: 4, seed: 0 });
makeTestModel({ out: path.join(root, 'ctx32'), layers: 2, dModel: 32, heads: 2, seed: 7, positions: 32 });
const tiny = loadModel(path.join(root, 'tiny'));
const ctx32 = loadModel(path.join(root, 'ctx32'));

const TEXT =
  'Pálinka is a fruit brandy made in Hungary, Transylvania (Romania) and four Austrian provinces; the EU protects the name "pálinka". Plums, apricots and pears are mashed, fermented and distilled twice.';

/**
 * Relative error of `got` against the float64 reference `want`, both [rows, width] flat:
 * - `max`: max|got − want| / max|want| over the whole hook;
 * - `elem`: max over elements of |got − want| / (|want| + mean|want|), where the floor mean|want|
 *   keeps values that happen to be near zero from demanding more than float32 can give.
 */
function relError(got: Float32Array, want: Float64Array): { max: number; elem: number } {
  assert.equal(got.length, want.length);
  let diff = 0;
  let scale = 0;
  let mean = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
    mean += Math.abs(want[i]) / want.length;
  }
  let elem = 0;
  for (let i = 0; i < want.length; i++) elem = Math.max(elem, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + mean));
  return { max: diff / scale, elem };
}

function assertClose(got: Float32Array, want: Float64Array, tol: number, what: string): void {
  const { max, elem } = relError(got, want);
  assert.ok(max <= tol && elem <= tol, `${what}: relative error ${max.toExponential(2)} (max), ${elem.toExponential(2)} (elementwise) > ${tol}`);
}

test('ONNX path agrees with the naive float64 forward pass to 1e-4 on every hook of layers 0 and 1', async () => {
  const hooks = [0, 1].flatMap((L) => HOOK_KINDS.map((k) => hookName(L, k)));
  const r = await extractActivations(TEXT, tiny, hooks, { threads: 1, provider: 'cpu' });
  assert.deepEqual(r.tokens, tokenize(TEXT));
  assert.equal(r.provider, 'cpu');
  const T = r.tokens.length;
  const ref = naiveGpt2(tiny, r.tokens.map((t) => t.id), 1);
  for (const h of hooks) {
    const acts = r.acts.get(h)!;
    assert.equal(acts.length, T * parseHook(h, tiny.config).width, h);
    assertClose(acts, ref.get(h)!, 1e-4, h);
  }
});

test('provider auto runs on the CPU where no CUDA provider is installed, and says so', async (t) => {
  if (cudaProviderInstalled()) {
    t.skip("onnxruntime-node's CUDA provider is installed here: auto may run on either");
    return;
  }
  const r = await extractActivations(TEXT, tiny, ['blocks.0.hook_mlp_out']);
  assert.equal(r.provider, 'cpu');
  assert.ok(r.ms > 0);
});

test('planWindows: windows of at most P tokens whose kept rows tile the document, each kept token with ≥ P/4 left context', () => {
  assert.deepEqual(planWindows(2000, 1024), [
    { start: 0, end: 1024, keepFrom: 0 },
    { start: 768, end: 1792, keepFrom: 1024 },
    { start: 1536, end: 2000, keepFrom: 1792 },
  ]);
  assert.deepEqual(planWindows(1024, 1024), [{ start: 0, end: 1024, keepFrom: 0 }]);
  for (const P of [1, 2, 5, 32, 1024]) {
    for (const T of [1, 2, P - 1, P, P + 1, 3 * P + 7, 10 * P].filter((t) => t >= 1)) {
      const ws = planWindows(T, P);
      let next = 0;
      ws.forEach((w, k) => {
        assert.equal(w.keepFrom, next, `P=${P} T=${T}: kept rows are contiguous`);
        assert.ok(w.end - w.start <= P && w.end > w.keepFrom && w.keepFrom >= w.start);
        if (k > 0) assert.ok(w.keepFrom - w.start >= Math.floor(P / 4), `P=${P} T=${T}: left context`);
        next = w.end;
      });
      assert.equal(next, T);
    }
  }
});

/** The first `n` tokens of `words` repeated as often as needed. */
function tokensOf(words: string, n: number): Token[] {
  let text = words;
  while (tokenize(text).length < n) text += ` ${words}`;
  return tokenize(text).slice(0, n);
}

test('windowed extraction: each token gets the activations of its own window run alone, positions from 0', async () => {
  const tokens = tokensOf(TEXT, 100); // P = 32: windows start at 0, 24, 48, 72
  const hooks = ['blocks.1.hook_resid_post', 'blocks.0.mlp.hook_pre'];
  const r = await extractActivations(tokens, ctx32, hooks, { threads: 1 });
  const windows = planWindows(100, 32);
  assert.equal(windows.length, 4);
  for (const w of windows) {
    const ref = naiveGpt2(ctx32, tokens.slice(w.start, w.end).map((t) => t.id), 1);
    for (const h of hooks) {
      const width = parseHook(h, ctx32.config).width;
      const got = r.acts.get(h)!.subarray(w.keepFrom * width, w.end * width);
      const want = ref.get(h)!.subarray((w.keepFrom - w.start) * width);
      assertClose(got, want, 1e-4, `${h}, window [${w.start}, ${w.end})`);
    }
  }
});

test('text before a window has no effect: the same tokens after prefixes of different length and content', async () => {
  // P = 32 gives C = 8 and stride S = 24. Prefixes of 48 and 24 tokens are both multiples of S, so in
  // both documents windows start at X[0], X[24] and X[48]: X's rows from X[C] on must agree.
  const X = tokensOf('Apricots, plums and quinces are harvested in late summer, then mashed and left to ferment for weeks.', 60);
  const hook = 'blocks.1.hook_mlp_out';
  const run = async (prefix: Token[]) => (await extractActivations([...prefix, ...X], ctx32, [hook], { threads: 1 })).acts.get(hook)!.subarray(prefix.length * 32);
  const a = await run(tokensOf('In Kecskemét the distilleries open their doors to visitors every autumn.', 48));
  const b = await run(tokensOf('Szatmár plum pálinka has an EU protected designation of origin.', 24));
  const C = 8;
  assertClose(a.subarray(C * 32), Float64Array.from(b.subarray(C * 32)), 1e-5, 'same windows over X');

  // Not vacuous: where the boundaries fall differently relative to X (prefix of 12 tokens), X's
  // activations differ, because position embeddings and attention see a different window.
  const c = await run(tokensOf('Szatmár plum pálinka has an EU protected designation of origin.', 12));
  assert.ok(relError(c.subarray(C * 32), Float64Array.from(b.subarray(C * 32))).max > 1e-3);
});

test('bad input: empty or whitespace-only text, no tokens', async () => {
  for (const text of ['', '   \n\t  \r\n']) {
    await assert.rejects(extractActivations(text, tiny, ['blocks.0.hook_mlp_out']), (e: unknown) => e instanceof UserError && /nothing to tokenize/.test(e.message));
  }
  await assert.rejects(extractActivations([], tiny, ['blocks.0.hook_mlp_out']), (e: unknown) => e instanceof UserError && /nothing to tokenize/.test(e.message));
});

test('bad input: unknown hook, layer out of range, no hook — errors list what is valid', async () => {
  await assert.rejects(extractActivations(TEXT, tiny, ['blocks.0.attn.hook_z']), (e: unknown) => e instanceof UserError && /unknown hook.*blocks\.\{L\}\.hook_mlp_out.*0 to 1/.test(e.message));
  await assert.rejects(extractActivations(TEXT, tiny, ['blocks.2.hook_mlp_out']), (e: unknown) => e instanceof UserError && /out of range.*2 layers.*0 to 1/.test(e.message));
  await assert.rejects(extractActivations(TEXT, tiny, []), (e: unknown) => e instanceof UserError && /no hook/.test(e.message));
});

test('bad input: token ids outside the model vocabulary, invalid thread count, aborted signal', async () => {
  const small = path.join(root, 'vocab100');
  makeTestModel({ out: small, layers: 1, dModel: 16, heads: 2, seed: 0, vocab: 100, positions: 64 });
  await assert.rejects(extractActivations(TEXT, loadModel(small), ['blocks.0.hook_mlp_out']), (e: unknown) => e instanceof UserError && /outside .* vocabulary of 100/.test(e.message));
  await assert.rejects(extractActivations(TEXT, tiny, ['blocks.0.hook_mlp_out'], { threads: 0 }), (e: unknown) => e instanceof UserError && /threads/.test(e.message));
  await assert.rejects(extractActivations(TEXT, tiny, ['blocks.0.hook_mlp_out'], { signal: AbortSignal.abort() }), { name: 'AbortError' });
});

test('releasing the cached sessions frees them for good: the next extraction builds a new session and gets the same activations', async () => {
  const hook = 'blocks.1.hook_mlp_out';
  const first = (await extractActivations(TEXT, tiny, [hook], { threads: 1 })).acts.get(hook)!;
  await releaseGpt2Sessions();
  await releaseGpt2Sessions(); // nothing left to release
  const again = (await extractActivations(TEXT, tiny, [hook], { threads: 1 })).acts.get(hook)!;
  assert.deepEqual(again, first);
});
