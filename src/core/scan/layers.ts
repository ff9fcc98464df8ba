/** Which layers a scan covers (`--layers`) and which hook it reads in each (`--hook-template`). */
import { UserError } from '../errors';
import { HOOK_KINDS, hookKindOf, hookName, type HookKind } from '../hooks';

/** `--layers`: every layer of the model, or a list of layers and inclusive ranges ("0,3,6", "2-8", "0,4-6,11"). */
export type LayerSpec = 'all' | number[];

const ITEM = /^(\d+)(?:-(\d+))?$/;

/** Parses `--layers` without the model: "all", or comma-separated layers and ranges A-B (A ≤ B). */
export function parseLayerSpec(spec: string): LayerSpec {
  const s = spec.trim();
  if (s === 'all') return 'all';
  const layers = new Set<number>();
  for (const item of s.split(',').map((x) => x.trim())) {
    const m = ITEM.exec(item);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      throw new UserError(`--layers "${spec}": "${item}" is neither a layer (6) nor a range A-B with A ≤ B (2-8); give "all", a list such as 0,3,6, or a range such as 2-8.`, 'E_USAGE');
    }
    for (let L = Number(m[1]); L <= Number(m[2] ?? m[1]); L++) layers.add(L);
  }
  return [...layers].sort((a, b) => a - b);
}

/** The layers of `spec` on a model of `nLayer` blocks, ascending; one out of range is a UserError. */
export function resolveLayers(spec: LayerSpec, nLayer: number, given = 'all'): number[] {
  if (spec === 'all') return Array.from({ length: nLayer }, (_, L) => L);
  const bad = spec.find((L) => L >= nLayer);
  if (bad !== undefined) {
    throw new UserError(`layer ${bad} (--layers ${given}) is out of range: this model has ${nLayer} layers, so layers run from 0 to ${nLayer - 1}.`, 'E_HOOK');
  }
  return spec;
}

/** The template's placeholder for the layer. */
export const LAYER_PLACEHOLDER = '{L}';

/** Checks `--hook-template` ("blocks.{L}.hook_mlp_out") and returns its hook kind. */
export function templateKind(template: string): HookKind {
  const t = template.trim();
  if (!t.includes(LAYER_PLACEHOLDER)) {
    throw new UserError(`hook template "${template}" has no ${LAYER_PLACEHOLDER}, so it names the same hook in every layer; write it as blocks.{L}.${hookKindOf(t) ?? 'hook_mlp_out'}.`, 'E_USAGE');
  }
  const kind = hookKindOf(t);
  if (!kind || t !== `blocks.${LAYER_PLACEHOLDER}.${kind}`) {
    throw new UserError(`hook template "${template}" is not blocks.{L}.<hook> with a hook Latent Lens knows; the hooks are ${HOOK_KINDS.join(', ')}.`, 'E_HOOK');
  }
  return kind;
}

/** The template of a hook kind: "hook_mlp_out" → "blocks.{L}.hook_mlp_out". */
export function templateOf(kind: HookKind): string {
  return `blocks.${LAYER_PLACEHOLDER}.${kind}`;
}

/** The template's hook in layer L. */
export function layerHook(template: string, layer: number): string {
  return hookName(layer, templateKind(template));
}

/** The directory of layer L's run inside a scan directory. */
export function layerDirName(layer: number): string {
  return `layer-${layer}`;
}

export const LAYER_DIR = /^layer-(\d+)$/;
