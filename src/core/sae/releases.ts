/**
 * A small registry of GPT-2 Small SAEs from the field, by SAELens's release and SAE id. Each SAE is
 * a folder of a Hugging Face repository in SAELens's layout; its cfg.json, downloaded with the
 * weights, decides the encoder (src/core/sae/formats/saelens.ts); the facts here choose what to
 * download, label the choice, and supply what cfg.json does not record (centring), as SAELens's
 * config_overrides do. Sources: SAELens 6.18's sae_lens/pretrained_saes.yaml ("registry") and the
 * expected configs in its tests/loading/test_pretrained_sae_loaders.py, which load the hub's cfg.json
 * ("SAELens test"). What no source confirmed is listed as unverified.
 */
import { UserError } from '../errors';
import { SAELENS_FILES } from './formats/saelens';

export interface ReleaseSae {
  /** SAELens's SAE id, e.g. "blocks.6.hook_resid_pre". */
  id: string;
  /** Folder in the repository. */
  path: string;
  layer: number;
  hookName: string;
}

export interface SaeRelease {
  /** SAELens's release name. */
  release: string;
  title: string;
  repo: string;
  /** The hook kind of its per-layer SAEs (some releases add others, e.g. res-jb's blocks.11.hook_resid_post). */
  hookKind: string;
  saes: ReleaseSae[];
  dIn: number;
  width: number;
  activation: 'relu' | 'topk';
  k?: number;
  normalization: 'none' | 'layer_norm';
  prependBos: boolean;
  /** Trained on TransformerLens's centred GPT-2 (center_writing_weights); cfg.json does not say. */
  centred: boolean;
  /** Downloaded per SAE (SAELens's layout). */
  files: string[];
  /** Download size per SAE, from the tensor shapes (float32 W_enc and W_dec dominate). */
  megabytes: number;
  /** Facts confirmed by a public source, each with the source. */
  verified: string[];
  /** Facts no source here confirmed. */
  unverified: string[];
}

const LAYERS = Array.from({ length: 12 }, (_, L) => L);
const perLayer = (kind: string, path: (L: number) => string): ReleaseSae[] => LAYERS.map((L) => ({ id: `blocks.${L}.${kind}`, path: path(L), layer: L, hookName: `blocks.${L}.${kind}` }));
const mb = (dIn: number, width: number) => Math.round((2 * dIn * width * 4) / 1e6);

/** OpenAI's v5 32k SAEs of GPT-2 Small as jbloom converted them to SAELens's layout: top-k 32 on layer-normed, uncentred activations without BOS. */
function oaiV5(r: Pick<SaeRelease, 'release' | 'title' | 'repo' | 'hookKind' | 'saes' | 'verified' | 'unverified'>): SaeRelease {
  return { ...r, dIn: 768, width: 32768, activation: 'topk', k: 32, normalization: 'layer_norm', prependBos: false, centred: false, files: [SAELENS_FILES.cfg, SAELENS_FILES.weights], megabytes: mb(768, 32768) };
}

export const RELEASES: SaeRelease[] = [
  {
    release: 'gpt2-small-res-jb',
    title: "Joseph Bloom's residual-stream SAEs (24576 latents, ReLU)",
    repo: 'jbloom/GPT2-Small-SAEs-Reformatted',
    hookKind: 'hook_resid_pre',
    saes: [...perLayer('hook_resid_pre', (L) => `blocks.${L}.hook_resid_pre`), { id: 'blocks.11.hook_resid_post', path: 'blocks.11.hook_resid_post', layer: 11, hookName: 'blocks.11.hook_resid_post' }],
    dIn: 768,
    width: 24576,
    activation: 'relu',
    normalization: 'none',
    prependBos: true,
    centred: true,
    files: [SAELENS_FILES.cfg, SAELENS_FILES.weights],
    megabytes: mb(768, 24576),
    verified: [
      'repo jbloom/GPT2-Small-SAEs-Reformatted, folders and ids blocks.{0..11}.hook_resid_pre and blocks.11.hook_resid_post — registry',
      'center_writing_weights true (config_overrides) — registry',
      'layer 0: d_in 768, d_sae 24576, architecture standard, apply_b_dec_to_input true, normalize_activations none, prepend_bos true, context_size 128, dtype torch.float32 — SAELens test',
      'layer 0: {folder}/sae_weights.safetensors and {folder}/sparsity.safetensors exist — SAELens tests/saes/test_standard_sae.py',
    ],
    unverified: ['layers 1–11 and resid_post: the same sizes and settings as layer 0 (each cfg.json is read and wins)', 'the weights are float32 (~151 MB per layer)'],
  },
  oaiV5({
    release: 'gpt2-small-resid-post-v5-32k',
    title: "OpenAI's v5 residual-stream SAEs, 32k latents, top-k 32 (SAELens format)",
    repo: 'jbloom/GPT2-Small-OAI-v5-32k-resid-post-SAEs',
    hookKind: 'hook_resid_post',
    saes: perLayer('hook_resid_post', (L) => `v5_32k_layer_${L}.pt`),
    verified: [
      'repo jbloom/GPT2-Small-OAI-v5-32k-resid-post-SAEs, folders v5_32k_layer_{L}.pt for ids blocks.{L}.hook_resid_post, no config_overrides (raw, uncentred activations) — registry',
      'layer 11: d_in 768, d_sae 32768, architecture topk, k 32, normalize_activations layer_norm, apply_b_dec_to_input true, prepend_bos false, context_size 64, dtype torch.float32 — SAELens test',
    ],
    unverified: ['layers 0–10: the same sizes and settings as layer 11 (each cfg.json is read and wins)', 'the weights are float32 (~201 MB per layer)'],
  }),
  oaiV5({
    release: 'gpt2-small-mlp-out-v5-32k',
    title: "OpenAI's v5 MLP-output SAEs, 32k latents, top-k (SAELens format)",
    repo: 'jbloom/GPT2-Small-OAI-v5-32k-mlp-out-SAEs',
    hookKind: 'hook_mlp_out',
    saes: perLayer('hook_mlp_out', (L) => `v5_32k_layer_${L}`),
    verified: ['repo jbloom/GPT2-Small-OAI-v5-32k-mlp-out-SAEs, folders v5_32k_layer_{L} for ids blocks.{L}.hook_mlp_out, no config_overrides (raw, uncentred activations) — registry'],
    unverified: ['d_sae 32768, top-k 32, layer_norm, prepend_bos false: assumed from the resid-post release of the same OpenAI v5 family (each cfg.json is read and wins)', 'the weights are float32 (~201 MB per layer)'],
  }),
  ...(['attn-out', 'resid-mid'] as const).map((name) => {
    const kind = name === 'attn-out' ? 'hook_attn_out' : 'hook_resid_mid';
    const repo = `jbloom/GPT2-Small-OAI-v5-32k-${name}-SAEs`;
    return oaiV5({
      release: `gpt2-small-${name}-v5-32k`,
      title: `OpenAI's v5 ${name === 'attn-out' ? 'attention-output' : 'mid-residual'} SAEs, 32k latents, top-k (SAELens format)`,
      repo,
      hookKind: kind,
      saes: perLayer(kind, (L) => `v5_32k_layer_${L}`),
      verified: [`repo ${repo}, folders v5_32k_layer_{L} for ids blocks.{L}.${kind}, no config_overrides (raw, uncentred activations) — registry`],
      unverified: ['d_sae 32768, top-k 32, layer_norm, prepend_bos false: assumed from the resid-post release of the same OpenAI v5 family (each cfg.json is read and wins)', 'the weights are float32 (~201 MB per layer)'],
    });
  }),
];

export function findRelease(name: string): SaeRelease | undefined {
  return RELEASES.find((r) => r.release === name);
}

/** The registry's release whose repository this is (for hf:REPO/PATH, so its facts still apply). */
export function releaseOfRepo(repo: string): SaeRelease | undefined {
  return RELEASES.find((r) => r.repo.toLowerCase() === repo.toLowerCase());
}

/**
 * An SAE of a release by SAELens id ("blocks.6.hook_resid_pre") or by layer (the release's own hook
 * kind in that block).
 */
export function releaseSae(r: SaeRelease, pick: { id?: string; layer?: number }): ReleaseSae {
  const found = pick.id !== undefined ? r.saes.find((s) => s.id === pick.id) : r.saes.find((s) => s.layer === pick.layer && s.hookName.endsWith(`.${r.hookKind}`));
  if (!found) {
    const what = pick.id !== undefined ? `no SAE "${pick.id}"` : pick.layer !== undefined ? `no SAE at layer ${pick.layer}` : 'several SAEs';
    throw new UserError(`release ${r.release} has ${what}; choose one of ${r.saes.map((s) => `${r.release}/${s.id}`).join(', ')} (or --layer 0…11).`, 'E_SAE');
  }
  return found;
}
