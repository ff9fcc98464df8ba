import { UserError } from '../errors';
import { HOOK_KINDS, parseHook, type Hook, type HookKind } from '../hooks';
import type { Gpt2Config } from '../model/config';
import type { TrainConfig } from './train';

/**
 * The two training recipes of the method note (/work/shared/notes/method.md). Sizes are relative to
 * the hook's width d_in so a preset fits any GPT-2; on GPT-2 Small they are exactly the note's:
 * seed = 6144 latents, k 384 on 768-d MLP outputs; course = 6144 latents, k 1024 on 3072-d MLP pre-activations.
 */
export interface SaePreset {
  name: PresetName;
  summary: string;
  /** The hook within a block; the block defaults to n_layer // 2. */
  hookKind: HookKind;
  /** Width of that hook on GPT-2 Small (768-d residual). */
  gpt2SmallDIn: number;
  /** Latent count: a count ("6144") or a multiple of d_in ("8x"). */
  latents: string;
  /** Top-k: a count ("384") or a fraction of d_in ("0.5", "1/3"). */
  k: string;
  l1: number;
  decor: number;
  lr: number;
  epochs: number;
  seed: number;
}

export type PresetName = 'seed' | 'course';

export const PRESETS: Record<PresetName, SaePreset> = {
  seed: {
    name: 'seed',
    summary: 'MLP output (blocks.L.hook_mlp_out), 8 × d_in latents, k = d_in / 2, MSE only',
    hookKind: 'hook_mlp_out',
    gpt2SmallDIn: 768,
    latents: '8x',
    k: '0.5',
    l1: 0,
    decor: 0,
    lr: 1e-4,
    epochs: 100,
    seed: 0,
  },
  course: {
    name: 'course',
    summary: 'MLP pre-activation (blocks.L.mlp.hook_pre), 2 × d_in latents, k = d_in / 3, MSE + 1.0·mean|z| + 0.0005·Σ Cov(z)²',
    hookKind: 'mlp.hook_pre',
    gpt2SmallDIn: 3072,
    latents: '2x',
    k: '1/3',
    l1: 1.0,
    decor: 0.0005,
    lr: 1e-4,
    epochs: 100,
    seed: 0,
  },
};

export const DEFAULT_PRESET: PresetName = 'seed';

/** What a user may change (CLI flags, editor settings); unset fields come from the preset. */
export interface SaeOverrides {
  preset?: string;
  layer?: number;
  /** A hook name as parseHook accepts it ("blocks.6.hook_mlp_out", "mlp.hook_pre"). */
  hook?: string;
  latents?: string | number;
  k?: string | number;
  epochs?: number;
  lr?: number;
  l1?: number;
  decor?: number;
  seed?: number;
}

/** One run's settings with every size resolved to a number. */
export interface SaeSettings extends TrainConfig {
  preset: PresetName;
  hookName: string;
  layer: number;
}

export function getPreset(name: string | undefined): SaePreset {
  const p = PRESETS[(name ?? DEFAULT_PRESET) as PresetName];
  if (!p) throw new UserError(`unknown preset "${name}"; choose one of: ${Object.keys(PRESETS).join(', ')}.`, 'E_USAGE');
  return p;
}

const COUNT = /^\d+$/;

/** Latent count from "6144" (a count) or "8x" / "2.5x" (a multiple of d_in, rounded down). */
export function parseLatents(spec: string | number, dIn: number): number {
  const s = String(spec).trim();
  const multiple = /^(\d+(?:\.\d+)?)x$/i.exec(s);
  if (COUNT.test(s)) return Number(s);
  if (multiple) return Math.floor(Number(multiple[1]) * dIn);
  throw new UserError(`latents "${spec}" is neither a count (e.g. 6144) nor a multiple of d_in (e.g. 8x).`, 'E_USAGE');
}

/** Top-k from "384" (a count) or "0.5" / "1/3" (a fraction of d_in below 1, rounded down). */
export function parseK(spec: string | number, dIn: number): number {
  const s = String(spec).trim();
  if (COUNT.test(s)) return Number(s);
  const ratio = /^(\d+)\/(\d+)$/.exec(s);
  const frac = ratio ? Number(ratio[1]) / Number(ratio[2]) : /^\d*\.\d+$/.test(s) ? Number(s) : NaN;
  if (!(frac > 0 && frac < 1)) {
    throw new UserError(`k "${spec}" is neither a count (e.g. 384) nor a fraction of d_in between 0 and 1 (e.g. 0.5 or 1/3).`, 'E_USAGE');
  }
  // Exact for ratios: 3072 · 1/3 must give 1024, not 1023 from a rounded 0.333….
  return ratio ? Math.floor((Number(ratio[1]) * dIn) / Number(ratio[2])) : Math.floor(frac * dIn + 1e-9);
}

/**
 * The hook a run reads: --hook when given (a full name, or a kind that takes --layer), else the
 * preset's kind; the layer defaults to n_layer // 2 (block 6 of GPT-2 Small, block 1 of a 2-layer model).
 */
export function resolveHook(o: SaeOverrides, config: Gpt2Config): Hook {
  return parseHook(o.hook ?? getPreset(o.preset).hookKind, config, o.layer, Math.floor(config.nLayer / 2));
}

/** Hook kind named by a hook spec, when it names one ("blocks.6.hook_mlp_out" → "hook_mlp_out"). */
export function hookKindOf(spec: string): HookKind | undefined {
  const kind = spec.trim().replace(/^blocks\.(\d+|\{L\})\./, '');
  return (HOOK_KINDS as readonly string[]).includes(kind) ? (kind as HookKind) : undefined;
}

/** Fills the preset's defaults and resolves sizes against d_in (the hook's width). Ranges are checked by validateSettings. */
export function resolveSettings(o: SaeOverrides, hook: { name: string; layer: number }, dIn: number): SaeSettings {
  const p = getPreset(o.preset);
  return {
    preset: p.name,
    hookName: hook.name,
    layer: hook.layer,
    dIn,
    nLatents: parseLatents(o.latents ?? p.latents, dIn),
    k: parseK(o.k ?? p.k, dIn),
    l1: o.l1 ?? p.l1,
    decor: o.decor ?? p.decor,
    lr: o.lr ?? p.lr,
    epochs: o.epochs ?? p.epochs,
    seed: o.seed ?? p.seed,
  };
}
