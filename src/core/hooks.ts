import { UserError } from './errors';
import type { Gpt2Config } from './model/config';

/**
 * The activation points Latent Lens can read, named as in TransformerLens. Within block L, in
 * forward order:
 * - `hook_resid_pre`: the residual stream entering block L (embeddings for L = 0), width d;
 * - `hook_attn_out`: the attention sublayer's output, attn(ln_1(resid_pre))·c_proj + b, width d;
 * - `hook_resid_mid`: resid_pre + hook_attn_out, the residual stream between attention and MLP, width d;
 * - `mlp.hook_pre`: ln_2(resid_mid)·c_fc + b, the MLP's input to GELU, width 4·d;
 * - `mlp.hook_post`: gelu_new(mlp.hook_pre), width 4·d;
 * - `hook_mlp_out`: mlp.hook_post·c_proj + b, width d;
 * - `hook_resid_post`: resid_mid + hook_mlp_out, the residual stream leaving block L, width d.
 */
export const HOOK_KINDS = ['hook_resid_pre', 'hook_attn_out', 'hook_resid_mid', 'mlp.hook_pre', 'mlp.hook_post', 'hook_mlp_out', 'hook_resid_post'] as const;

export type HookKind = (typeof HOOK_KINDS)[number];

export interface Hook {
  /** Full name, e.g. "blocks.6.hook_mlp_out". */
  name: string;
  layer: number;
  kind: HookKind;
  /** Features per token: d, or 4·d for the MLP's hidden hooks. */
  width: number;
  /** Position in the forward pass (layer · HOOK_KINDS.length + index of kind): the graph can stop after the largest. */
  order: number;
}

export function hookWidth(kind: HookKind, dModel: number): number {
  return kind === 'mlp.hook_pre' || kind === 'mlp.hook_post' ? 4 * dModel : dModel;
}

/** A hook's position in the forward pass, as Hook.order counts it. */
export function hookOrder(layer: number, kind: HookKind): number {
  return layer * HOOK_KINDS.length + HOOK_KINDS.indexOf(kind);
}

export function hookName(layer: number, kind: HookKind): string {
  return `blocks.${layer}.${kind}`;
}

function validList(config: Gpt2Config): string {
  return `valid hooks: ${HOOK_KINDS.map((k) => `blocks.{L}.${k}`).join(', ')} with L from 0 to ${config.nLayer - 1} (a name without "blocks.L." takes its layer from --layer)`;
}

function checkLayer(layer: number, config: Gpt2Config, source: string): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= config.nLayer) {
    throw new UserError(`layer ${layer} (${source}) is out of range: this model has ${config.nLayer} layers, so the layer must be an integer from 0 to ${config.nLayer - 1}.`, 'E_HOOK');
  }
}

/**
 * Parses a hook name: a full name "blocks.6.hook_mlp_out", a template "blocks.{L}.hook_mlp_out",
 * or a bare kind "hook_mlp_out" / "mlp.hook_pre"; the last two take their layer from `layer`
 * (the CLI's --layer), else from `fallbackLayer`. A full name whose layer disagrees with `layer`
 * is an error.
 */
export function parseHook(spec: string, config: Gpt2Config, layer?: number, fallbackLayer?: number): Hook {
  const m = /^(?:blocks\.(\d+|\{L\})\.)?(.+)$/.exec(spec.trim());
  const kind = m?.[2] as HookKind | undefined;
  if (!m || !kind || !HOOK_KINDS.includes(kind)) throw new UserError(`unknown hook "${spec}"; ${validList(config)}.`, 'E_HOOK');
  let L: number;
  if (m[1] !== undefined && m[1] !== '{L}') {
    L = Number(m[1]);
    if (layer !== undefined && layer !== L) {
      throw new UserError(`hook "${spec}" names layer ${L} but --layer is ${layer}; give only one of them, or make them agree.`, 'E_HOOK');
    }
    checkLayer(L, config, `in hook "${spec}"`);
  } else {
    const given = layer ?? fallbackLayer;
    if (given === undefined) throw new UserError(`hook "${spec}" has no layer; pass --layer N or write it as blocks.N.${kind}.`, 'E_HOOK');
    checkLayer(given, config, layer === undefined ? 'the default layer' : 'from --layer');
    L = given;
  }
  return { name: hookName(L, kind), layer: L, kind, width: hookWidth(kind, config.nEmbd), order: hookOrder(L, kind) };
}

/** Hook kind named by a hook spec, when it names one ("blocks.6.hook_mlp_out" → "hook_mlp_out"). */
export function hookKindOf(spec: string): HookKind | undefined {
  const kind = spec.trim().replace(/^blocks\.(\d+|\{L\})\./, '');
  return (HOOK_KINDS as readonly string[]).includes(kind) ? (kind as HookKind) : undefined;
}
