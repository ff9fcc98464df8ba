/**
 * EleutherAI sparsify's folder layout (read from sparsify 1.3: sparse_coder.py, config.py,
 * fused_encoder.py), one folder per hookpoint, named after the module (e.g. `h.6.mlp` of GPT-2):
 *   cfg.json         {d_in, activation "topk", k, num_latents (0: d_in·expansion_factor), expansion_factor,
 *                     normalize_decoder, multi_topk, skip_connection, transcode}; other fields are dropped
 *   sae.safetensors  encoder.weight [num_latents, d_in], encoder.bias [num_latents], W_dec [num_latents, d_in],
 *                    b_dec [d_in]; loaded strictly by Sae.load_from_disk (with decoder=False it loads
 *                    non-strictly: a missing encoder stays random, silently)
 * Encode: top-k of ReLU((x − b_dec)·encoder.weightᵀ + encoder.bias); decode Σ top_acts·W_dec[top_idx] + b_dec.
 * sparsify records neither hook nor model: Latent Lens writes hook_name, model_name, prepend_bos and
 * center_writing_weights as extra cfg.json fields (sparsify drops them) and, reading a folder without
 * them, takes the hook from the folder's GPT-2 module name or the caller.
 */
import * as path from 'node:path';
import { UserError } from '../../errors';
import { encodeSafetensors } from '../../safetensors';
import { checkSaeModel, foldScalingFactor, isTied, transpose, type SaeModel } from '../model';
import { isInt, readCfgJson, readWeights, saeError, type LoadedSae } from './files';

export const SPARSIFY_FILES = { cfg: 'cfg.json', weights: 'sae.safetensors' } as const;

/** GPT-2 module names (sparsify hookpoints, under the base model) → TransformerLens hooks. */
const MODULE_HOOKS: [RegExp, string][] = [
  [/^h\.(\d+)$/, 'hook_resid_post'],
  [/^h\.(\d+)\.attn$/, 'hook_attn_out'],
  [/^h\.(\d+)\.mlp$/, 'hook_mlp_out'],
  [/^h\.(\d+)\.mlp\.act$/, 'mlp.hook_post'],
  [/^h\.(\d+)\.mlp\.c_fc$/, 'mlp.hook_pre'],
];

/** The hook a sparsify hookpoint of GPT-2 is, e.g. "h.6.mlp" → "blocks.6.hook_mlp_out". */
export function hookOfModule(name: string): string | undefined {
  for (const [re, kind] of MODULE_HOOKS) {
    const m = re.exec(name);
    if (m) return `blocks.${m[1]}.${kind}`;
  }
  return undefined;
}

/** Reads a sparsify folder; `hook` names the hook when cfg.json does not (else the folder's name must). */
export function readSparsify(dir: string, hook?: string): LoadedSae {
  const file = path.join(dir, SPARSIFY_FILES.cfg);
  const c = readCfgJson(dir);
  const notes: string[] = [];
  const dIn = c.d_in;
  if (!isInt(dIn)) throw saeError(file, `has d_in ${JSON.stringify(dIn)}; sparsify's cfg.json needs it as a positive integer`);
  const activation = c.activation ?? 'topk';
  if (activation !== 'topk') throw saeError(file, `has activation ${JSON.stringify(activation)}; Latent Lens runs sparsify's topk SAEs (not groupmax)`);
  if (c.transcode === true) throw saeError(file, 'is a transcoder (transcode true): it predicts one module\'s output from its input, which is not an SAE of one hook');
  if (c.skip_connection === true) throw saeError(file, 'has a skip connection (W_skip), which Latent Lens does not run');
  const numLatents = c.num_latents ?? 0;
  const expansion = c.expansion_factor ?? 32;
  if (!(Number.isInteger(numLatents) && (numLatents as number) >= 0) || !isInt(expansion)) throw saeError(file, `has num_latents ${JSON.stringify(numLatents)} and expansion_factor ${JSON.stringify(expansion)}; they must be integers`);
  const dSae = (numLatents as number) || dIn * expansion;
  const k = c.k ?? 32;
  if (!isInt(k)) throw saeError(file, `has k ${JSON.stringify(k)}; k must be a positive integer`);

  const folder = path.basename(path.resolve(dir));
  const hookName = typeof c.hook_name === 'string' ? c.hook_name : (hook ?? hookOfModule(folder));
  if (hookName === undefined) {
    throw new UserError(
      `${file} does not say which hook the SAE reads, and the folder name "${folder}" is not a GPT-2 hookpoint sparsify names (h.L, h.L.attn, h.L.mlp, h.L.mlp.act, h.L.mlp.c_fc); pass --hook, e.g. --hook blocks.6.hook_mlp_out.`,
      'E_SAE',
    );
  }
  if (typeof c.hook_name === 'string' && hook !== undefined && hook !== c.hook_name) throw saeError(file, `says the SAE reads ${c.hook_name}, but --hook is ${hook}`);
  if (typeof c.prepend_bos !== 'boolean') notes.push(`${file} does not record prepend_bos: windows start without BOS, as sparsify's chunks after the first do.`);

  const weightsFile = path.join(dir, SPARSIFY_FILES.weights);
  const { tensors: w } = readWeights(weightsFile, { 'encoder.weight': [dSae, dIn], 'encoder.bias': [dSae], W_dec: [dSae, dIn], b_dec: [dIn] });
  const model: SaeModel = {
    dIn,
    dSae,
    wEnc: transpose(w['encoder.weight'], dSae, dIn),
    bEnc: w['encoder.bias'],
    wDec: w.W_dec,
    bDec: w.b_dec,
    activation: { kind: 'topk', k },
    applyBDecToInput: true,
    normalization: { kind: 'none' },
    tied: false,
    site: {
      hookName,
      modelName: typeof c.model_name === 'string' ? c.model_name : 'unknown (sparsify does not record it)',
      prependBos: c.prepend_bos === true,
      centred: c.center_writing_weights === true,
    },
  };
  checkSaeModel(model, weightsFile);
  model.tied = isTied(model);
  return { model, notes };
}

/**
 * The files of a sparsify folder for `m`, which Sae.load_from_disk reads strictly. sparsify SAEs are
 * top-k with b_dec subtracted from the input and no normalisation: an expected_average_only_in factor
 * is folded into the weights, and without apply_b_dec_to_input b_dec·W_enc moves into encoder.bias
 * (both leave encode and decode unchanged); anything else cannot be expressed and is refused.
 */
export function sparsifyFiles(model: SaeModel): Record<string, string | Uint8Array> {
  if (model.activation.kind !== 'topk') throw new UserError(`sparsify SAEs are top-k; this SAE is ${model.activation.kind}. Export it with --format saelens.`, 'E_USAGE');
  const k = model.activation.k;
  const m = foldScalingFactor(model);
  if (m.normalization.kind !== 'none') throw new UserError(`sparsify SAEs have no input normalisation; this SAE uses ${m.normalization.kind}. Export it with --format saelens.`, 'E_USAGE');
  const bias = m.bEnc.slice();
  if (!m.applyBDecToInput) {
    for (let j = 0; j < m.dSae; j++) for (let i = 0; i < m.dIn; i++) bias[j] += m.bDec[i] * m.wEnc[i * m.dSae + j];
  }
  const cfg = {
    activation: 'topk',
    normalize_decoder: false,
    num_latents: m.dSae,
    k,
    multi_topk: false,
    skip_connection: false,
    transcode: false,
    d_in: m.dIn,
    hook_name: m.site.hookName,
    model_name: m.site.modelName,
    prepend_bos: m.site.prependBos,
    center_writing_weights: m.site.centred,
  };
  const f32 = (data: Float32Array, shape: number[]) => ({ dtype: 'F32' as const, shape, data });
  const tensors = {
    'encoder.weight': f32(transpose(m.wEnc, m.dIn, m.dSae), [m.dSae, m.dIn]),
    'encoder.bias': f32(bias, [m.dSae]),
    W_dec: f32(m.wDec, [m.dSae, m.dIn]),
    b_dec: f32(m.bDec, [m.dIn]),
  };
  return { [SPARSIFY_FILES.cfg]: `${JSON.stringify(cfg, null, 2)}\n`, [SPARSIFY_FILES.weights]: encodeSafetensors(tensors) };
}
