/**
 * One SAE configuration: everything that decides which SAE a training run produces, the width of
 * the hook aside. Presets are values of it; overrides (CLI flags, editor settings) are a Partial of
 * it applied by `saeConfig`. Each edge (the CLI, the editor's job settings) resolves its input into
 * one whole, validated SaeConfig; the pipeline, the trainer and cfg.json (src/core/run/runCfg.ts)
 * take it as it is. Sizes stay relative to d_in ("8x", "0.5") until the hook's width is known:
 * `saeShape` turns them into numbers, once, when the model is loaded.
 */
import { UserError } from '../errors';
import { parseHook, type Hook } from '../hooks';
import type { Gpt2Config } from '../model/config';

export type PresetName = 'seed' | 'course';

export interface SaeConfig {
  /** The recipe the other fields started from (informative once overridden). */
  preset: PresetName;
  /** Activation point: a kind in block `layer` ("hook_mlp_out", "mlp.hook_pre") or a full name ("blocks.6.hook_mlp_out"). */
  hook: string;
  /** Block of a bare hook kind; null: n_layer // 2 (block 6 of GPT-2 Small). */
  layer: number | null;
  /** Latent count: a count ("6144") or a multiple of d_in ("8x"). */
  latents: string;
  /** Top-k: a count ("384") or a fraction of d_in below 1 ("0.5", "1/3"). */
  k: string;
  /** λ1: weight of mean|z|. */
  l1: number;
  /** λc: weight of Σ_{i≠j} Cov(z)²_ij. */
  decor: number;
  /** Adam learning rate. */
  lr: number;
  /**
   * The schedule (schedule.ts): training ends at the first limit it reaches — `epochs` full passes
   * over the tokens, `steps` optimizer steps (minibatches), `tokens` tokens trained on — or earlier by
   * `earlyStop`. A null limit is off; at least one of the three is set.
   */
  epochs: number | null;
  steps: number | null;
  tokens: number | null;
  earlyStop: EarlyStop | null;
  /** Seeds the initial W and the minibatch shuffles. */
  seed: number;
  /** Largest batch; more tokens than this train in shuffled minibatches. */
  batchTokens: number;
  /** α, the weight of the AuxK dead-latent loss (types.ts defines it); 0: off (both presets, which reproduce the lab). */
  auxk: number;
}

/** Stop after epoch e (e > window) when FVE_e − FVE_{e−window} < threshold: FVE gained less than `threshold` over `window` epochs. */
export interface EarlyStop {
  threshold: number;
  window: number;
}

/** The AuxK weight of the paper and of sparsify's recipe, for runs that turn it on (corpus runs). */
export const AUXK_ALPHA = 1 / 32;

/** An SaeConfig's sizes on a hook of width dIn. */
export interface SaeShape {
  dIn: number;
  nLatents: number;
  k: number;
}

/** Above this many tokens an epoch is several shuffled minibatches instead of one full batch. */
export const DEFAULT_BATCH_TOKENS = 4096;

/**
 * The two recipes of the method note (../shared/notes/method.md). Sizes are relative to d_in so a
 * preset fits any GPT-2; on GPT-2 Small they are exactly the note's: seed = 6144 latents, k 384 on
 * 768-d MLP outputs; course = 6144 latents, k 1024 on 3072-d MLP pre-activations.
 */
export const PRESETS: Record<PresetName, SaeConfig> = {
  seed: { preset: 'seed', hook: 'hook_mlp_out', layer: null, latents: '8x', k: '0.5', l1: 0, decor: 0, lr: 1e-4, epochs: 100, steps: null, tokens: null, earlyStop: null, seed: 0, batchTokens: DEFAULT_BATCH_TOKENS, auxk: 0 },
  course: { preset: 'course', hook: 'mlp.hook_pre', layer: null, latents: '2x', k: '1/3', l1: 1.0, decor: 0.0005, lr: 1e-4, epochs: 100, steps: null, tokens: null, earlyStop: null, seed: 0, batchTokens: DEFAULT_BATCH_TOKENS, auxk: 0 },
};

/**
 * What a run trains on: one document (the presets exactly, as the lab) or a corpus of files, whose
 * defaults differ (corpusDefaults).
 */
export type RunScope = 'document' | 'corpus';

/** A corpus run's token budget by default (10 epochs of a 200k-token corpus): 2M token-steps, minutes on 2 cores (bench/corpus.ts). */
export const CORPUS_TOKEN_BUDGET = 2_000_000;

/** A corpus run's early stopping by default: FVE gained less than 0.001 over the last 5 epochs. */
export const CORPUS_EARLY_STOP: EarlyStop = { threshold: 1e-3, window: 5 };

/**
 * The corpus defaults over a preset: AuxK on (α = 1/32), and a schedule bounded in time — the
 * preset's epochs, at most CORPUS_TOKEN_BUDGET tokens, early stopping CORPUS_EARLY_STOP.
 */
export function corpusDefaults(preset: SaeConfig): SaeConfig {
  return { ...preset, auxk: AUXK_ALPHA, tokens: CORPUS_TOKEN_BUDGET, earlyStop: CORPUS_EARLY_STOP };
}

export const DEFAULT_PRESET: PresetName = 'seed';

/** What an edge may set: any field, the preset by name (checked here). */
export type SaeOverrides = Partial<Omit<SaeConfig, 'preset'>> & { preset?: string };

/** The fields of SaeConfig that set how long training runs. */
const LENGTHS = ['epochs', 'steps', 'tokens'] as const;

const COUNT = /^\d+$/;
const MULTIPLE = /^(\d+(?:\.\d+)?)x$/i;
const RATIO = /^(\d+)\/(\d+)$/;
const FRACTION = /^\d*\.\d+$/;

/** Latent count from "6144" (a count) or "8x" / "2.5x" (a multiple of d_in, rounded down). */
export function parseLatents(spec: string, dIn: number): number {
  const s = spec.trim();
  const multiple = MULTIPLE.exec(s);
  if (COUNT.test(s)) return Number(s);
  if (multiple) return Math.floor(Number(multiple[1]) * dIn);
  throw new UserError(`latents "${spec}" is neither a count (e.g. 6144) nor a multiple of d_in (e.g. 8x).`, 'E_USAGE');
}

/** Top-k from "384" (a count) or "0.5" / "1/3" (a fraction of d_in below 1, rounded down). */
export function parseK(spec: string, dIn: number): number {
  const s = spec.trim();
  if (COUNT.test(s)) return Number(s);
  const ratio = RATIO.exec(s);
  const frac = ratio ? Number(ratio[1]) / Number(ratio[2]) : FRACTION.test(s) ? Number(s) : NaN;
  if (!(frac > 0 && frac < 1)) {
    throw new UserError(`k "${spec}" is neither a count (e.g. 384) nor a fraction of d_in between 0 and 1 (e.g. 0.5 or 1/3).`, 'E_USAGE');
  }
  // Exact for ratios: 3072 · 1/3 must give 1024, not 1023 from a rounded 0.333….
  return ratio ? Math.floor((Number(ratio[1]) * dIn) / Number(ratio[2])) : Math.floor(frac * dIn + 1e-9);
}

function intAtLeast(v: number, min: number): boolean {
  return Number.isInteger(v) && v >= min;
}

/** Checks the fields training reads besides the sizes; throws a UserError naming the flag to change. */
export function checkTrainFields(c: Pick<SaeConfig, 'l1' | 'decor' | 'lr' | 'epochs' | 'steps' | 'tokens' | 'earlyStop' | 'seed' | 'batchTokens' | 'auxk'>): void {
  for (const key of LENGTHS) {
    const v = c[key];
    if (v !== null && !intAtLeast(v, 1)) throw new UserError(`${key} must be an integer ≥ 1, got ${v}; pass e.g. --${key} ${key === 'epochs' ? 100 : key === 'steps' ? 1000 : 4000000}.`, 'E_USAGE');
  }
  if (LENGTHS.every((key) => c[key] === null)) throw new UserError('training needs a length: set epochs, steps or tokens (e.g. --epochs 100).', 'E_USAGE');
  const es = c.earlyStop;
  if (es !== null && !(Number.isFinite(es.threshold) && es.threshold >= 0)) throw new UserError(`the early-stopping threshold must be a number ≥ 0 (an FVE gain), got ${es.threshold}; pass e.g. --early-stop 0.001, or --early-stop off.`, 'E_USAGE');
  if (es !== null && !intAtLeast(es.window, 1)) throw new UserError(`the early-stopping window must be an integer ≥ 1 (epochs), got ${es.window}; pass e.g. --early-stop-window 5.`, 'E_USAGE');
  if (!(Number.isFinite(c.lr) && c.lr > 0)) throw new UserError(`the learning rate must be a positive number, got ${c.lr}; pass e.g. --lr 1e-4.`, 'E_USAGE');
  if (!(Number.isFinite(c.l1) && c.l1 >= 0)) throw new UserError(`the L1 weight must be a number ≥ 0, got ${c.l1}; pass e.g. --l1 0 or --l1 1.`, 'E_USAGE');
  if (!(Number.isFinite(c.decor) && c.decor >= 0)) throw new UserError(`the decorrelation weight must be a number ≥ 0, got ${c.decor}; pass e.g. --decor 0 or --decor 0.0005.`, 'E_USAGE');
  if (!(Number.isInteger(c.seed) && c.seed >= 0 && c.seed <= 0xffffffff)) throw new UserError(`the seed must be an integer from 0 to 4294967295, got ${c.seed}.`, 'E_USAGE');
  if (!intAtLeast(c.batchTokens, 2)) throw new UserError(`the batch size must be an integer ≥ 2 tokens, got ${c.batchTokens}.`, 'E_USAGE');
  if (!(Number.isFinite(c.auxk) && c.auxk >= 0)) throw new UserError(`the AuxK weight must be a number ≥ 0, got ${c.auxk}; pass e.g. 0 (off) or 0.03125 (1/32).`, 'E_USAGE');
}

/** Checks every field as far as it can be without the model: the sizes' syntax, and the sizes when both are counts. */
export function validateSaeConfig(c: SaeConfig): void {
  checkTrainFields(c);
  if (c.layer !== null && !intAtLeast(c.layer, 0)) throw new UserError(`the layer must be an integer ≥ 0, got ${c.layer}.`, 'E_USAGE');
  // Sizes given as counts can be checked now; relative ones need d_in.
  const nLatents = parseLatents(c.latents, 1);
  const k = parseK(c.k, 1);
  if (COUNT.test(c.latents.trim()) && COUNT.test(c.k.trim())) checkShape({ dIn: 1, nLatents, k });
}

/** Checks d_in, the latent count and k; throws a UserError naming the flag to change. */
export function checkShape(s: SaeShape): void {
  if (!intAtLeast(s.dIn, 1)) throw new UserError(`d_in must be a positive integer, got ${s.dIn}.`, 'E_USAGE');
  if (!intAtLeast(s.nLatents, 1)) {
    throw new UserError(`the number of latents must be an integer ≥ 1, got ${s.nLatents}; pass --latents as a count (e.g. 6144) or a multiple of d_in (e.g. 8x).`, 'E_USAGE');
  }
  if (!Number.isInteger(s.k) || s.k <= 0 || s.k >= s.nLatents) {
    throw new UserError(`k must be an integer from 1 to ${s.nLatents - 1} (fewer than the ${s.nLatents} latents), got ${s.k}; pass --k as a count (e.g. 384) or a fraction of d_in (e.g. 0.5).`, 'E_USAGE');
  }
}

/**
 * The preset named by `o.preset` (default seed) — under corpusDefaults for a corpus — with every
 * other given field of `o` over it, validated as far as it can be without the model. The one way an
 * edge makes an SaeConfig. A given length (epochs, steps or tokens) replaces the default schedule
 * whole: it runs exactly that long, without early stopping unless `o.earlyStop` is given too.
 */
export function saeConfig(o: SaeOverrides = {}, scope: RunScope = 'document'): SaeConfig {
  const name = o.preset ?? DEFAULT_PRESET;
  if (!Object.hasOwn(PRESETS, name)) throw new UserError(`unknown preset "${name}"; choose one of: ${Object.keys(PRESETS).join(', ')}.`, 'E_USAGE');
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const preset = PRESETS[name as PresetName];
  const base = scope === 'corpus' ? corpusDefaults(preset) : preset;
  const lengthGiven = LENGTHS.some((key) => o[key] !== undefined);
  const schedule = lengthGiven ? { epochs: null, steps: null, tokens: null, earlyStop: null } : {};
  const c: SaeConfig = { ...base, ...schedule, ...defined, preset: name as PresetName };
  validateSaeConfig(c);
  return c;
}

/**
 * The hook a run reads: a full name as given, or the kind in block `layer`, by default
 * n_layer // 2 (block 6 of GPT-2 Small, block 1 of a 2-layer model).
 */
export function resolveHook(c: SaeConfig, model: Gpt2Config): Hook {
  return parseHook(c.hook, model, c.layer ?? undefined, Math.floor(model.nLayer / 2));
}

/** The config's sizes on a hook of width dIn, checked. */
export function saeShape(c: SaeConfig, dIn: number): SaeShape {
  const shape = { dIn, nLatents: parseLatents(c.latents, dIn), k: parseK(c.k, dIn) };
  checkShape(shape);
  return shape;
}
