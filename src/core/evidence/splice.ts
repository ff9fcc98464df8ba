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
import { saeLead, saeView } from '../sae/input';
import { fve, totalVariance } from '../sae/metrics';
import { normalizeInput, reconstruct } from '../sae/model';
import type { SaeDecoder } from './types';

export interface SpliceOptions extends SessionOptions {
  signal?: AbortSignal;
  /** Rows (versions × window tokens) per run of the suffix graph; default DEFAULT_BATCH_ROWS. */
  batchRows?: number;
  /**
   * After each run of the suffix graph: versions of the hook done, of `total` = windows × (3 + latents)
   * (clean, spliced, zero-ablated, one per latent; a latent a window need not run counts as done).
   */
  onProgress?: (done: number, total: number) => void;
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

export const DEFAULT_BATCH_ROWS = 512;

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

/**
 * The hooks the clean pass reads: the hook and the state resuming from it needs. Extraction that
 * asks for the same set (e.g. the training run's) shares its onnxruntime session with the evidence.
 */
export function prefixHooks(hook: Hook): string[] {
  const state = resumeState(hook.kind);
  return state ? [hook.name, hookName(hook.layer, state)] : [hook.name];
}

/** One version of the hook's value over a window: `fill` writes it into a [n, width] buffer of zeros. */
interface Version {
  what: string;
  loss: Float64Array;
  fill(dst: Float32Array): void;
}

/**
 * A window's run over [lead, its tokens]: clean activations x [lead + n, w] and state [lead + n, d],
 * the rows it scores and the spliced value of the rows it supplies.
 */
interface WindowRun {
  win: Window;
  /** Positions before the window's first token (1 for an SAE with BOS). */
  lead: number;
  x: Float32Array;
  state?: Float32Array;
  /** Window-local positions (from the window's first token) whose loss this window supplies. */
  rows: number[];
  /** The SAE reconstruction in the hook's own terms: x − (SAE view of x − x̂), [end − keepFrom, w]. */
  xhat: Float32Array;
  /** The SAE's output scale s_out of each supplied row (model.ts), [end − keepFrom]. */
  sOut: Float32Array;
}

function nonFinite(what: string): UserError {
  return new UserError(
    `${what}: the SAE decoder (W_dec, b_dec) holds NaN or Inf, or values so large that GPT-2 overflows; nothing was written. Check the SAE's weights, or retrain it.`,
    'E_NONFINITE',
  );
}

/** Clean, spliced, zero-ablated, and one ablation per latent that fires at a scored position of the window ([] for the others). */
function versionsOf(inp: SpliceInputs, r: WindowRun, out: SpliceLosses): { versions: Version[]; idle: number[] } {
  const { win, x, xhat } = r;
  const { cols, decoder } = inp;
  const w = inp.hook.width;
  const keep = (r.lead + win.keepFrom - win.start) * w;
  const lastScored = win.start + r.rows[r.rows.length - 1];
  const versions: Version[] = [
    { what: 'clean', loss: out.clean, fill: (dst) => dst.set(x) },
    {
      what: 'spliced (hook replaced by the SAE reconstruction)',
      loss: out.spliced,
      fill: (dst) => {
        dst.set(x.subarray(0, keep));
        dst.set(xhat, keep);
      },
    },
    { what: 'zero-ablated', loss: out.zero, fill: (dst) => dst.set(x.subarray(0, keep)) },
  ];
  const idle: number[] = [];
  inp.latents.forEach((l, k) => {
    const firing: number[] = []; // entries of column l in the window's supplied rows
    for (let e = cols.colPtr[l]; e < cols.colPtr[l + 1]; e++) if (cols.token[e] >= win.keepFrom && cols.token[e] < win.end) firing.push(e);
    if (!firing.some((e) => cols.token[e] <= lastScored)) return void idle.push(k);
    const dir = decoder.wDec.subarray(l * w, (l + 1) * w);
    versions.push({
      what: `latent ${l} ablated`,
      loss: out.ablated[k],
      fill: (dst) => {
        dst.set(x);
        for (const e of firing) {
          const at = r.lead + cols.token[e] - win.start;
          const row = dst.subarray(at * w, (at + 1) * w);
          const z = cols.value[e] * r.sOut[cols.token[e] - win.keepFrom];
          for (let i = 0; i < w; i++) row[i] -= z * dir[i];
        }
      },
    });
  });
  return { versions, idle };
}

/** Runs the versions through the suffix graph, `perRun` at a time, and stores their losses at the window's scored positions. */
async function runVersions(session: ort.InferenceSession, inp: SpliceInputs, r: WindowRun, versions: Version[], perRun: number, opts: SpliceOptions, progress: (versions: number) => void): Promise<void> {
  const { win, rows } = r;
  const { hook, tokens } = inp;
  const n = r.lead + win.end - win.start;
  const w = hook.width;
  const N = rows.length;
  const fixed = {
    [SUFFIX.rows]: new ort.Tensor('int64', BigInt64Array.from(rows, (i) => BigInt(r.lead + i)), [N]),
    [SUFFIX.targets]: new ort.Tensor('int64', BigInt64Array.from(rows, (i) => BigInt(tokens[win.start + i + 1].id)), [N]),
    ...(r.state ? { [SUFFIX.state]: new ort.Tensor('float32', r.state, [n, inp.model.config.nEmbd]) } : {}),
  };
  for (let b0 = 0; b0 < versions.length; b0 += perRun) {
    opts.signal?.throwIfAborted();
    const batch = versions.slice(b0, b0 + perRun);
    const values = new Float32Array(batch.length * n * w);
    batch.forEach((v, b) => {
      const value = values.subarray(b * n * w, (b + 1) * n * w);
      v.fill(value);
      const at = value.findIndex((x) => !Number.isFinite(x));
      if (at >= 0) throw nonFinite(`the ${v.what} value of ${hook.name} is ${value[at]} at token ${win.start + Math.floor(at / w) - r.lead}`);
    });
    const res = await session.run({ ...fixed, [SUFFIX.hook]: new ort.Tensor('float32', values, [batch.length, n, w]) });
    const nll = res[SUFFIX.nll].data as Float32Array; // [batch, N]
    batch.forEach((v, b) => {
      const bad = rows.filter((_, j) => !Number.isFinite(nll[b * N + j]));
      if (bad.length) throw nonFinite(`the ${v.what} forward pass of ${hook.name} gave a non-finite loss at ${bad.length} of ${N} positions (first: token ${win.start + bad[0]}, window [${win.start}, ${win.end}))`);
      rows.forEach((i, j) => (v.loss[win.start + i] = nll[b * N + j]));
    });
    progress(batch.length);
  }
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
  const { model, hook, tokens, decoder } = inp;
  const T = tokens.length;
  const w = hook.width;
  const [, stateName] = prefixHooks(hook);
  const lead = saeLead(decoder.site).length;
  const runner = await windowRunner(tokens, model, prefixHooks(hook), opts, saeLead(decoder.site));
  const { session } = await gpt2Session(model, JSON.stringify(['suffix', hook.name]), () => buildGpt2SuffixGraph(model, hook), opts);
  const supplied = new Float32Array(T * w); // the SAE's view of the hook's clean activations, row t from the window supplying t
  let sse = 0;
  const out: SpliceLosses = { fve: NaN, clean: new Float64Array(T - 1), spliced: new Float64Array(T - 1), zero: new Float64Array(T - 1), ablated: inp.latents.map(() => new Float64Array(T - 1)) };
  const total = inp.windows.length * (3 + inp.latents.length);
  let done = 0;
  const progress = (versions: number) => opts.onProgress?.((done += versions), total);

  for (const win of inp.windows) {
    const n = win.end - win.start;
    const keep = win.keepFrom - win.start;
    const m = n - keep;
    const acts = await runner.run(win);
    const x = acts.get(hook.name)!;
    // The supplied rows as the SAE sees them (centred or not), its reconstruction there, and that
    // reconstruction in the hook's own terms: x − (view − x̂), which is x̂ itself for an uncentred SAE.
    const raw = x.subarray((lead + keep) * w);
    const view = saeView(decoder.site, hook, raw);
    const norm = normalizeInput(decoder, view, m);
    const xhat = new Float32Array(m * w);
    reconstruct(decoder, inp.codes, norm, win.keepFrom, win.end, xhat);
    for (let i = 0; i < xhat.length; i++) {
      sse += (view[i] - xhat[i]) ** 2;
      xhat[i] += raw[i] - view[i];
    }
    supplied.set(view, win.keepFrom * w);
    const r: WindowRun = { win, lead, x, state: stateName ? acts.get(stateName) : undefined, rows: [], xhat, sOut: norm.sOut };
    for (let i = keep; i < n && win.start + i <= T - 2; i++) r.rows.push(i);
    if (r.rows.length === 0) {
      progress(3 + inp.latents.length);
      continue;
    }

    const { versions, idle } = versionsOf(inp, r, out);
    await runVersions(session, inp, r, versions, Math.max(1, Math.floor((opts.batchRows ?? DEFAULT_BATCH_ROWS) / (lead + n))), opts, progress);
    for (const k of idle) for (const i of r.rows) out.ablated[k][win.start + i] = out.clean[win.start + i];
    progress(idle.length);
  }
  out.fve = fve(sse, totalVariance(supplied, T, w));
  return out;
}
