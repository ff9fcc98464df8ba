/**
 * SAELens's folder layout (read from SAELens 6.18: saes/sae.py, saes/{standard,topk,jumprelu}_sae.py,
 * loading/pretrained_sae_loaders.py):
 *   cfg.json                 {architecture, d_in, d_sae, dtype, device, apply_b_dec_to_input,
 *                             normalize_activations, reshape_activations, k (topk),
 *                             rescale_acts_by_decoder_norm (topk), metadata: {sae_lens_version, model_name,
 *                             hook_name, prepend_bos, model_from_pretrained_kwargs, ...}}
 *   sae_weights.safetensors  W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in],
 *                            threshold [d_sae] (jumprelu); loaded strictly (missing or extra keys fail)
 *   activation_scaler.json   {"scaling_factor": c} beside checkpoints that normalise expected_average_only_in
 * A cfg.json without a 6.x sae_lens_version is converted as SAELens's handle_pre_6_0_config does:
 * hook_point → hook_name, activation_fn_str → activation_fn, top-level model_name / hook_name /
 * prepend_bos (default true) / model_from_pretrained_kwargs into metadata, activation_fn "topk" with
 * activation_fn_kwargs.k → architecture topk, a boolean normalize_activations true → expected_average_only_in.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSafetensors } from '../../safetensors';
import { checkSaeModel, foldScalingFactor, isTied, saeTensors, type SaeActivation, type SaeModel, type SaeNormalization, type SaeSite } from '../model';
import { isInt, readCfgJson, readWeights, saeError, type LoadedSae } from './files';

export const SAELENS_FILES = { cfg: 'cfg.json', weights: 'sae_weights.safetensors', scaler: 'activation_scaler.json' } as const;

/** The SAELens format version exports declare (metadata.sae_lens_version): the layout of SAELens 6.18, whose loader was read. */
export const SAELENS_FORMAT_VERSION = '6.18.0';

/** Facts a release registry supplies over cfg.json, as SAELens's config_overrides do. */
export interface SiteOverrides {
  centred?: boolean;
}

const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'torch.float32', 'torch.float64', 'torch.float16', 'torch.bfloat16'];
const NORMALIZATIONS = ['none', 'expected_average_only_in', 'constant_norm_rescale', 'layer_norm'];
const METADATA_KEYS = ['model_name', 'hook_name', 'prepend_bos', 'model_from_pretrained_kwargs', 'context_size', 'hook_head_index'];

function majorVersion(v: unknown): number | undefined {
  const m = typeof v === 'string' ? /^(\d+)\./.exec(v) : null;
  return m ? Number(m[1]) : undefined;
}

/** SAELens's handle_pre_6_0_config, as far as the fields Latent Lens reads. */
function fromPre6(c: Record<string, unknown>, file: string): Record<string, unknown> {
  const renamed: Record<string, unknown> = {};
  const RENAME: Record<string, string> = { hook_point: 'hook_name', hook_point_head_index: 'hook_head_index', activation_fn_str: 'activation_fn' };
  for (const [k, v] of Object.entries(c)) renamed[RENAME[k] ?? k] = v;
  const fn = renamed.activation_fn ?? 'relu';
  const fnK = (renamed.activation_fn_kwargs as { k?: unknown } | undefined)?.k;
  let architecture = renamed.architecture ?? 'standard';
  if (fn === 'topk' && fnK !== undefined) architecture = 'topk';
  else if (fn !== 'relu') throw saeError(file, `has activation_fn ${JSON.stringify(fn)}${fn === 'topk' ? ' without activation_fn_kwargs.k' : ''}; Latent Lens runs relu and topk (with k) SAEs of this older SAELens layout`);
  const norm = renamed.normalize_activations;
  return {
    ...renamed,
    architecture,
    ...(architecture === 'topk' ? { k: fnK ?? renamed.k } : {}),
    apply_b_dec_to_input: renamed.apply_b_dec_to_input ?? true,
    normalize_activations: typeof norm === 'boolean' ? (norm ? 'expected_average_only_in' : 'none') : (norm ?? 'none'),
    metadata: { prepend_bos: true, ...Object.fromEntries(METADATA_KEYS.filter((k) => k in renamed).map((k) => [k, renamed[k]])) },
  };
}

/** W_dec rows to unit norm with the norms moved into W_enc and b_enc, as SAELens's _fold_norm_topk: encode and decode are unchanged. */
function foldDecoderNorm(m: SaeModel): SaeModel {
  const { dIn: d, dSae: L } = m;
  const wEnc = m.wEnc.slice();
  const wDec = m.wDec.slice();
  const bEnc = m.bEnc.slice();
  for (let j = 0; j < L; j++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += wDec[j * d + i] ** 2;
    const norm = Math.sqrt(ss);
    bEnc[j] *= norm;
    for (let i = 0; i < d; i++) {
      wDec[j * d + i] /= norm;
      wEnc[i * L + j] *= norm;
    }
  }
  return { ...m, wEnc, wDec, bEnc };
}

/** Reads a SAELens folder (cfg.json + sae_weights.safetensors) into the SAE model. */
export function readSaeLens(dir: string, overrides: SiteOverrides = {}): LoadedSae {
  const file = path.join(dir, SAELENS_FILES.cfg);
  const raw = readCfgJson(dir);
  const meta0 = (raw.metadata ?? {}) as Record<string, unknown>;
  const version = raw.sae_lens_version ?? meta0.sae_lens_version;
  const pre6 = !((majorVersion(version) ?? 0) >= 6);
  const c = pre6 ? fromPre6(raw, file) : raw;
  const meta = (c.metadata ?? {}) as Record<string, unknown>;
  const notes: string[] = [];

  const { d_in: dIn, d_sae: dSae } = c;
  if (!isInt(dIn) || !isInt(dSae)) throw saeError(file, `has d_in ${JSON.stringify(dIn)} and d_sae ${JSON.stringify(dSae)}; both must be positive integers`);
  const arch = c.architecture;
  if (arch !== 'standard' && arch !== 'topk' && arch !== 'jumprelu') {
    throw saeError(file, `has architecture ${JSON.stringify(arch)}; Latent Lens runs SAELens's standard, topk and jumprelu SAEs`);
  }
  if (c.dtype !== undefined && !DTYPES.includes(c.dtype as string)) throw saeError(file, `has dtype ${JSON.stringify(c.dtype)}, not one of SAELens's ${DTYPES.join(', ')}`);
  if ((c.reshape_activations ?? 'none') !== 'none') throw saeError(file, `has reshape_activations ${JSON.stringify(c.reshape_activations)}; Latent Lens reads hooks of one vector per token (reshape_activations "none")`);
  const normName = c.normalize_activations ?? 'none';
  if (!NORMALIZATIONS.includes(normName as string)) throw saeError(file, `has normalize_activations ${JSON.stringify(normName)}, not one of ${NORMALIZATIONS.join(', ')}`);
  if (typeof c.apply_b_dec_to_input !== 'boolean' && c.apply_b_dec_to_input !== undefined) throw saeError(file, `has apply_b_dec_to_input ${JSON.stringify(c.apply_b_dec_to_input)}, expected true or false`);
  const hookName = meta.hook_name;
  if (typeof hookName !== 'string') throw saeError(file, 'does not say which hook the SAE reads (metadata.hook_name, or hook_name / hook_point in older layouts)');
  if (meta.hook_head_index !== undefined && meta.hook_head_index !== null) throw saeError(file, `has hook_head_index ${JSON.stringify(meta.hook_head_index)}; Latent Lens reads whole hooks, not one attention head`);

  let activation: SaeActivation = { kind: 'relu' };
  if (arch === 'topk') {
    if (!isInt(c.k)) throw saeError(file, `is a topk SAE with k ${JSON.stringify(c.k)}; k must be a positive integer`);
    activation = { kind: 'topk', k: c.k };
  }
  let normalization: SaeNormalization = { kind: normName as Exclude<SaeNormalization['kind'], 'expected_average_only_in'> };
  if (normName === 'expected_average_only_in') {
    const scaler = path.join(dir, SAELENS_FILES.scaler);
    const factor = fs.existsSync(scaler) ? (JSON.parse(fs.readFileSync(scaler, 'utf8')) as { scaling_factor?: unknown }).scaling_factor : undefined;
    if (typeof factor !== 'number') {
      throw saeError(
        file,
        `says normalize_activations "expected_average_only_in" but gives no scaling factor (no ${SAELENS_FILES.scaler} with "scaling_factor" beside it). SAELens folds the factor into the weights at the end of training and then writes "none"; this checkpoint needs ${SAELENS_FILES.scaler} from its training run`,
      );
    }
    normalization = { kind: 'expected_average_only_in', scalingFactor: factor };
  }

  const kwargs = meta.model_from_pretrained_kwargs as { center_writing_weights?: unknown } | undefined;
  // As SAELens 6 does: without model_from_pretrained_kwargs the model runs unprocessed (uncentred).
  const centred = overrides.centred ?? kwargs?.center_writing_weights === true;
  if (overrides.centred === undefined && !kwargs) {
    notes.push(
      `${file} does not record model_from_pretrained_kwargs: reading uncentred activations, as SAELens 6 does. SAEs trained by SAELens before 3.19.2 saw TransformerLens's centred model; for one of those a low FVE here is the sign.`,
    );
  }
  const prependBos = meta.prepend_bos ?? true;
  if (typeof prependBos !== 'boolean') throw saeError(file, `has prepend_bos ${JSON.stringify(prependBos)}, expected true or false`);
  const site: SaeSite = { hookName, modelName: typeof meta.model_name === 'string' ? meta.model_name : 'unknown', prependBos, centred };

  const weightsFile = path.join(dir, SAELENS_FILES.weights);
  const want: Record<string, number[]> = { W_enc: [dIn, dSae], b_enc: [dSae], W_dec: [dSae, dIn], b_dec: [dIn], ...(arch === 'jumprelu' ? { threshold: [dSae] } : {}) };
  const { tensors: w, dropped } = readWeights(weightsFile, want, ['scaling_factor']);
  // SAELens drops an all-ones scaling_factor (an old finetuning factor) and refuses any other.
  if (dropped.scaling_factor && dropped.scaling_factor.some((v) => v !== 1)) {
    throw saeError(weightsFile, 'has a finetuning scaling_factor that is not all ones; SAELens 6 cannot load it either');
  }
  if (arch === 'jumprelu') activation = { kind: 'jumprelu', threshold: w.threshold };
  let model: SaeModel = {
    dIn,
    dSae,
    wEnc: w.W_enc,
    bEnc: w.b_enc,
    wDec: w.W_dec,
    bDec: w.b_dec,
    activation,
    applyBDecToInput: (c.apply_b_dec_to_input as boolean | undefined) ?? true,
    normalization,
    tied: false,
    site,
  };
  checkSaeModel(model, weightsFile);
  if (arch === 'topk' && c.rescale_acts_by_decoder_norm === true) model = foldDecoderNorm(model);
  model.tied = isTied(model);
  return { model, notes };
}

/**
 * The files of a SAELens ≥ 6 folder for `m`: what SAE.load_from_disk reads strictly. An
 * expected_average_only_in factor is folded into the weights (SAELens's load_from_disk would not
 * apply it), so the folder encodes as the model does.
 */
export function saeLensFiles(model: SaeModel): Record<string, string | Uint8Array> {
  const m = foldScalingFactor(model);
  const architecture = { relu: 'standard', topk: 'topk', jumprelu: 'jumprelu' }[m.activation.kind];
  const cfg = {
    architecture,
    d_in: m.dIn,
    d_sae: m.dSae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: m.applyBDecToInput,
    normalize_activations: m.normalization.kind,
    reshape_activations: 'none',
    ...(m.activation.kind === 'topk' ? { k: m.activation.k, rescale_acts_by_decoder_norm: false } : {}),
    metadata: {
      sae_lens_version: SAELENS_FORMAT_VERSION,
      sae_lens_training_version: null,
      model_name: m.site.modelName,
      hook_name: m.site.hookName,
      hook_head_index: null,
      prepend_bos: m.site.prependBos,
      model_from_pretrained_kwargs: { center_writing_weights: m.site.centred },
      exported_by: 'latent-lens',
    },
  };
  const tensors = Object.fromEntries(Object.entries(saeTensors(m)).map(([name, t]) => [name, { dtype: 'F32' as const, shape: t.shape, data: t.data }]));
  return { [SAELENS_FILES.cfg]: `${JSON.stringify(cfg, null, 2)}\n`, [SAELENS_FILES.weights]: encodeSafetensors(tensors) };
}
