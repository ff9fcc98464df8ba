import * as ort from 'onnxruntime-node';
import type { LatentColumns } from '../analysis/columns';
import { UserError } from '../errors';
import { windowRunner, type Window } from '../extract';
import { hookName, type Hook } from '../hooks';
import { buildGpt2SuffixGraph, resumeState, SUFFIX } from '../model/gpt2Suffix';
import type { Gpt2Model } from '../model/load';
import { gpt2Session, type SessionOptions } from '../model/sessions';
import type { SparseCodes } from '../sae/types';
import type { Token } from '../tokenizer';
import { fve, totalVariance } from '../sae/metrics';
import { reconstruct } from './decoder';
import type { SaeDecoder } from './types';

export interface SpliceOptions extends SessionOptions {
  signal?: AbortSignal;
  /** Rows (versions × window tokens) per run of the suffix graph; default DEFAULT_BATCH_ROWS. */
  batchRows?: number;
}

/** Per-position losses −log p(token t+1), t = 0…T−2, of each version of the hook. */
export interface SpliceLosses {
  /** FVE of the reconstruction on the hook's activations as recomputed here (sae/metrics.ts). */
  fve: number;
  clean: Float64Array;
  spliced: Float64Array;
  zero: Float64Array;
  /** One per requested latent, in order: the hook with that latent's decoder term removed. */
  ablated: Float64Array[];
}

export const DEFAULT_BATCH_ROWS = 1024;

export interface SpliceInputs {
  model: Gpt2Model;
  hook: Hook;
  tokens: readonly Pick<Token, 'id' | 'text'>[];
  decoder: SaeDecoder;
  codes: SparseCodes;
  /** The same codes by latent. */
  cols: LatentColumns;
  latents: number[];
  windows: Window[];
}

function nonFinite(what: string): UserError {
  return new UserError(
    `${what}: the SAE decoder (W_dec, b_dec) holds NaN or Inf, or values so large that GPT-2 overflows; nothing was written. Check the SAE's weights, or retrain it.`,
    'E_NAN',
  );
}

/** One version of the hook's value over a window: `fill` writes it into a [n, width] buffer. */
interface Version {
  what: string;
  loss: Float64Array;
  fill(dst: Float32Array): void;
}

/**
 * Runs GPT-2 once per window up to the hook (keeping the state the hook does not carry) and then,
 * from the hook on, once per version of the hook's value, several versions per run. In each
 * window, the hook is replaced only at the positions whose activations that window supplies
 * ([keepFrom, end), the rows the SAE codes describe); the window's leading context positions keep
 * their clean activations. The loss of position t is read in the window that supplies t, with
 * target token t+1 even when that token lies in the next window (the logits at t depend on
 * tokens ≤ t only). A latent that is zero at every supplied position t ≤ T−2 of a window changes
 * nothing there: its losses are the clean ones, exactly, and it is not run.
 */
export async function spliceLosses(inp: SpliceInputs, opts: SpliceOptions = {}): Promise<SpliceLosses> {
  const { model, hook, tokens, decoder, cols, latents } = inp;
  const T = tokens.length;
  const w = hook.width;
  const d = model.config.nEmbd;
  const stateKind = resumeState(hook.kind);
  const stateName = stateKind && hookName(hook.layer, stateKind);
  const runner = await windowRunner(tokens, model, stateName ? [hook.name, stateName] : [hook.name], opts);
  const { session } = await gpt2Session(model, JSON.stringify(['suffix', hook.name]), () => buildGpt2SuffixGraph(model, hook), opts);
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  const supplied = new Float32Array(T * w); // the hook's clean activations, row t from the window supplying t
  let sse = 0;
  const out: SpliceLosses = { fve: NaN, clean: new Float64Array(T - 1), spliced: new Float64Array(T - 1), zero: new Float64Array(T - 1), ablated: latents.map(() => new Float64Array(T - 1)) };

  for (const win of inp.windows) {
    const n = win.end - win.start;
    const keep = win.keepFrom - win.start;
    const rows: number[] = []; // window-local positions whose loss this window supplies
    for (let i = keep; i < n && win.start + i <= T - 2; i++) rows.push(i);
    const acts = await runner.run(win);
    const x = acts.get(hook.name)!; // [n, w]
    const state = stateName ? acts.get(stateName)! : undefined; // [n, d]
    const xhat = new Float32Array((n - keep) * w); // reconstruction of the supplied rows
    reconstruct(decoder, inp.codes, win.keepFrom, win.end, xhat);
    supplied.set(x.subarray(keep * w), win.keepFrom * w);
    for (let i = 0; i < xhat.length; i++) sse += (x[keep * w + i] - xhat[i]) ** 2;
    if (rows.length === 0) continue;

    const firesHere = (l: number) => {
      for (let e = cols.colPtr[l]; e < cols.colPtr[l + 1]; e++) if (cols.token[e] >= win.keepFrom && cols.token[e] < win.end && cols.token[e] <= T - 2) return true;
      return false;
    };
    const versions: Version[] = [
      { what: 'clean', loss: out.clean, fill: (dst) => dst.set(x) },
      {
        what: 'spliced (hook replaced by the SAE reconstruction)',
        loss: out.spliced,
        fill: (dst) => {
          dst.set(x.subarray(0, keep * w));
          dst.set(xhat, keep * w);
        },
      },
      { what: 'zero-ablated', loss: out.zero, fill: (dst) => dst.set(x.subarray(0, keep * w)) },
    ];
    const idle: number[] = [];
    latents.forEach((l, k) => {
      if (!firesHere(l)) return void idle.push(k);
      versions.push({
        what: `latent ${l} ablated`,
        loss: out.ablated[k],
        fill: (dst) => {
          dst.set(x);
          const dir = decoder.wDec.subarray(l * w, (l + 1) * w);
          for (let e = cols.colPtr[l]; e < cols.colPtr[l + 1]; e++) {
            const t = cols.token[e];
            if (t < win.keepFrom || t >= win.end) continue;
            const row = dst.subarray((t - win.start) * w, (t - win.start + 1) * w);
            const z = cols.value[e];
            for (let i = 0; i < w; i++) row[i] -= z * dir[i];
          }
        },
      });
    });

    const N = rows.length;
    const fixed = {
      [SUFFIX.rows]: new ort.Tensor('int64', BigInt64Array.from(rows, BigInt), [N]),
      [SUFFIX.targets]: new ort.Tensor('int64', BigInt64Array.from(rows, (i) => BigInt(tokens[win.start + i + 1].id)), [N]),
      ...(state ? { [SUFFIX.state]: new ort.Tensor('float32', state, [n, d]) } : {}),
    };
    const perRun = Math.max(1, Math.floor(batchRows / n));
    for (let b0 = 0; b0 < versions.length; b0 += perRun) {
      opts.signal?.throwIfAborted();
      const batch = versions.slice(b0, b0 + perRun);
      const values = new Float32Array(batch.length * n * w); // zeros: what a version leaves unwritten
      batch.forEach((v, b) => {
        const value = values.subarray(b * n * w, (b + 1) * n * w);
        v.fill(value);
        const at = value.findIndex((x) => !Number.isFinite(x));
        if (at >= 0) throw nonFinite(`the ${v.what} value of ${hook.name} is ${value[at]} at token ${win.start + Math.floor(at / w)}`);
      });
      const res = await session.run({ ...fixed, [SUFFIX.hook]: new ort.Tensor('float32', values, [batch.length, n, w]) });
      const nll = res[SUFFIX.nll].data as Float32Array; // [batch, N]
      batch.forEach((v, b) => {
        const bad = rows.filter((_, r) => !Number.isFinite(nll[b * N + r]));
        if (bad.length) throw nonFinite(`the ${v.what} forward pass of ${hook.name} gave a non-finite loss at ${bad.length} of ${N} positions (first: token ${win.start + bad[0]}, window [${win.start}, ${win.end}))`);
        rows.forEach((i, r) => (v.loss[win.start + i] = nll[b * N + r]));
      });
    }
    for (const k of idle) for (const i of rows) out.ablated[k][win.start + i] = out.clean[win.start + i];
  }
  out.fve = fve(sse, totalVariance(supplied, T, w));
  return out;
}
