import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { readSafetensors, safetensorsParts, type Tensor } from '../safetensors';
import { saeTensors, type SaeModel } from '../sae/model';
import type { SparseCodes } from '../sae/types';
import { writeDirAtomic } from './atomicDir';
import { RUN_FORMAT_VERSION, type RunCfg, type RunMetrics, type RunTokens } from './format';
import { saeCfg, saeModelOf, type SaeWeights } from './runCfg';

export const RUN_FILES = { cfg: 'cfg.json', sae: 'sae.safetensors', latents: 'latents.safetensors', metrics: 'metrics.json', tokens: 'tokens.json' } as const;

/** What one run leaves on disk (see format.ts). */
export interface RunParts {
  cfg: RunCfg;
  /** The SAE; cfg.sae describes it (writeRun checks that they agree). */
  sae: SaeModel;
  /** Codes of every token, rows in token order. */
  codes: SparseCodes;
  metrics: RunMetrics;
  tokens: RunTokens;
}

export interface RunContents extends RunParts {
  dir: string;
}

function checkParts(p: RunParts): void {
  const T = p.cfg.n_tokens;
  const described = JSON.stringify(saeCfg(p.sae, p.cfg.sae.source));
  const problems = [
    described !== JSON.stringify(p.cfg.sae) && `cfg.sae ${JSON.stringify(p.cfg.sae)} does not describe the SAE model (${described})`,
    ...Object.entries(saeTensors(p.sae)).map(([name, t]) => t.data.length !== t.shape.reduce((a, b) => a * b, 1) && `${name} has ${t.data.length} values, not [${t.shape.join(', ')}]`),
    p.tokens.tokens.length !== T && `${p.tokens.tokens.length} tokens, but cfg.n_tokens is ${T}`,
    p.codes.rowPtr.length !== T + 1 && `codes have ${p.codes.rowPtr.length - 1} rows for ${T} tokens`,
  ].filter(Boolean);
  if (problems.length) throw new Error(`inconsistent run: ${problems.join('; ')}`);
}

/** Throws unless `dir` is absent, empty, or a run directory (which writeRun may replace). */
export function checkRunTarget(dir: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`--out ${dir} is a file; give a directory path for the run.`, 'E_OUTPUT');
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !entries.includes(RUN_FILES.cfg)) {
    throw new UserError(`--out ${dir} exists and is not a Latent Lens run directory (it has files but no ${RUN_FILES.cfg}); choose another --out, or empty it first.`, 'E_OUTPUT');
  }
}

/**
 * Writes a run directory atomically (atomicDir.ts): `dir` is always either the old run, the new run,
 * or for an instant absent — never half written. A directory that is not a run (non-empty without
 * cfg.json) is refused rather than replaced.
 */
export function writeRun(dir: string, parts: RunParts): void {
  checkParts(parts);
  checkRunTarget(dir);
  const sae = Object.fromEntries(Object.entries(saeTensors(parts.sae)).map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: t.data } satisfies Tensor]));
  const nnz = parts.codes.index.length;
  const latents: Record<string, Tensor> = {
    row_ptr: { dtype: 'I32', shape: [parts.codes.rowPtr.length], data: parts.codes.rowPtr },
    index: { dtype: 'I32', shape: [nnz], data: parts.codes.index },
    value: { dtype: 'F32', shape: [nnz], data: parts.codes.value },
  };
  const meta = { format: 'latent-lens-run', version: String(RUN_FORMAT_VERSION) };
  writeDirAtomic(
    dir,
    {
      [RUN_FILES.sae]: safetensorsParts(sae, meta),
      [RUN_FILES.latents]: safetensorsParts(latents, meta),
      [RUN_FILES.cfg]: `${JSON.stringify(parts.cfg, null, 2)}\n`,
      [RUN_FILES.metrics]: `${JSON.stringify(parts.metrics, null, 2)}\n`,
      [RUN_FILES.tokens]: `${JSON.stringify(parts.tokens)}\n`,
    },
    'the run directory',
  );
}

function bad(dir: string, file: string, why: string): UserError {
  return new UserError(`run directory ${dir}: ${file} ${why}. The run is damaged or from another tool; make it again (latent-lens train or latent-lens apply ... --out ${dir}).`, 'E_RUN');
}

function readJson(dir: string, file: string): Record<string, unknown> {
  const p = path.join(dir, file);
  if (!fs.existsSync(p)) throw bad(dir, file, 'is missing');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(p, 'utf8'));
  } catch (e) {
    throw bad(dir, file, `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(dir, file, 'is not a JSON object');
  const version = (json as { version?: unknown }).version;
  if (version !== RUN_FORMAT_VERSION) {
    throw new UserError(`run directory ${dir}: ${file} has format version ${JSON.stringify(version)}, but this Latent Lens reads version ${RUN_FORMAT_VERSION}; make the run again with this version (latent-lens train or latent-lens apply).`, 'E_RUN_VERSION');
  }
  return json as Record<string, unknown>;
}

function readTensors(dir: string, file: string, want: Record<string, { dtype: Tensor['dtype']; shape?: number[] }>): Map<string, Tensor> {
  const p = path.join(dir, file);
  if (!fs.existsSync(p)) throw bad(dir, file, 'is missing');
  const { tensors } = readSafetensors(p, Object.keys(want));
  for (const [name, w] of Object.entries(want)) {
    const t = tensors.get(name)!;
    if (t.dtype !== w.dtype) throw bad(dir, file, `has ${name} as ${t.dtype}, expected ${w.dtype}`);
    if (w.shape && (t.shape.length !== w.shape.length || t.shape.some((s, i) => s !== w.shape![i]))) {
      throw bad(dir, file, `has ${name} of shape [${t.shape.join(', ')}], but cfg.json and tokens.json imply [${w.shape.join(', ')}]`);
    }
    if (!w.shape && t.shape.length !== 1) throw bad(dir, file, `has ${name} of rank ${t.shape.length}, expected a vector`);
  }
  return tensors;
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const ACTIVATIONS = ['relu', 'topk', 'jumprelu'];
const NORMALIZATIONS = ['none', 'layer_norm', 'constant_norm_rescale', 'expected_average_only_in'];

/** Why cfg.json's sae section is not one readRun can turn into a model, or undefined. */
function saeSectionProblem(sae: RunCfg['sae']): string | undefined {
  for (const [key, v] of [['d_in', sae.d_in], ['d_sae', sae.d_sae], ...(sae.activation === 'topk' ? [['k', sae.k]] : [])] as const) {
    if (!positiveInt(v)) return `has sae.${key} = ${JSON.stringify(v)}, expected a positive integer`;
  }
  if (!ACTIVATIONS.includes(sae.activation)) return `has sae.activation ${JSON.stringify(sae.activation)}, not one of ${ACTIVATIONS.join(', ')}`;
  if (!NORMALIZATIONS.includes(sae.normalize_activations)) return `has sae.normalize_activations ${JSON.stringify(sae.normalize_activations)}, not one of ${NORMALIZATIONS.join(', ')}`;
  if (sae.normalize_activations === 'expected_average_only_in' && !(typeof sae.scaling_factor === 'number' && sae.scaling_factor > 0)) return 'has expected_average_only_in without a positive sae.scaling_factor';
  for (const key of ['apply_b_dec_to_input', 'tied', 'prepend_bos', 'center_writing_weights'] as const) {
    if (typeof sae[key] !== 'boolean') return `has sae.${key} = ${JSON.stringify(sae[key])}, expected true or false`;
  }
  if (typeof sae.hook_name !== 'string' || typeof sae.model_name !== 'string') return 'lacks sae.hook_name or sae.model_name';
  if (typeof sae.source !== 'object' || sae.source === null || typeof sae.source.kind !== 'string') return 'lacks sae.source';
  return undefined;
}

function readCheckedCfg(dir: string): RunCfg {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UserError(`run directory ${dir} does not exist; give the --out directory of a finished \`latent-lens train\` or \`latent-lens apply\`.`, 'E_RUN');
  }
  const cfg = readJson(dir, RUN_FILES.cfg) as unknown as RunCfg;
  const { sae, model, train } = cfg;
  if (typeof sae !== 'object' || sae === null || typeof model !== 'object' || model === null || (train !== undefined && (typeof train !== 'object' || train === null))) {
    throw bad(dir, RUN_FILES.cfg, 'lacks its sae or model section');
  }
  const problem = saeSectionProblem(sae) ?? (positiveInt(cfg.n_tokens) ? undefined : `has n_tokens = ${JSON.stringify(cfg.n_tokens)}, expected a positive integer`);
  if (problem) throw bad(dir, RUN_FILES.cfg, problem);
  if (typeof model.name !== 'string') throw bad(dir, RUN_FILES.cfg, 'lacks model.name');
  return cfg;
}

function readSaeTensors(dir: string, sae: RunCfg['sae']): SaeModel {
  const { d_in: d, d_sae: L } = sae;
  const weights = readTensors(dir, RUN_FILES.sae, {
    W_enc: { dtype: 'F32', shape: [d, L] },
    b_enc: { dtype: 'F32', shape: [L] },
    W_dec: { dtype: 'F32', shape: [L, d] },
    b_dec: { dtype: 'F32', shape: [d] },
    ...(sae.activation === 'jumprelu' ? { threshold: { dtype: 'F32', shape: [L] } } : {}),
  });
  const w = Object.fromEntries([...weights].map(([name, t]) => [name, t.data as Float32Array])) as unknown as SaeWeights;
  return saeModelOf(sae, w);
}

/** A run directory's cfg.json and SAE only (not its tokens and codes): what applying its SAE needs. */
export function readRunSae(dir: string): { cfg: RunCfg; sae: SaeModel } {
  const cfg = readCheckedCfg(dir);
  return { cfg, sae: readSaeTensors(dir, cfg.sae) };
}

/** A run directory's JSON files (cfg.json, tokens.json, metrics.json), checked as readRun checks them, without its tensors. */
export function readRunInfo(dir: string): Pick<RunContents, 'dir' | 'cfg' | 'metrics' | 'tokens'> {
  const cfg = readCheckedCfg(dir);
  const tokens = readJson(dir, RUN_FILES.tokens) as unknown as RunTokens;
  if (!Array.isArray(tokens.tokens)) throw bad(dir, RUN_FILES.tokens, 'has no tokens array');
  const T = tokens.tokens.length;
  if (T !== cfg.n_tokens) throw bad(dir, RUN_FILES.tokens, `lists ${T} tokens, but cfg.json says n_tokens = ${cfg.n_tokens}`);
  const metrics = readJson(dir, RUN_FILES.metrics) as unknown as RunMetrics;
  if (!Array.isArray(metrics.curve) || typeof metrics.final !== 'object' || metrics.final === null) throw bad(dir, RUN_FILES.metrics, 'lacks curve or final');
  return { dir, cfg, metrics, tokens };
}

/** Reads and cross-checks a run directory; every problem is a UserError naming the file. */
export function readRun(dir: string): RunContents {
  const { cfg, metrics, tokens } = readRunInfo(dir);
  const T = tokens.tokens.length;

  const L = cfg.sae.d_sae;
  const sae = readSaeTensors(dir, cfg.sae);
  const lat = readTensors(dir, RUN_FILES.latents, { row_ptr: { dtype: 'I32', shape: [T + 1] }, index: { dtype: 'I32' }, value: { dtype: 'F32' } });
  const codes: SparseCodes = { rowPtr: lat.get('row_ptr')!.data as Int32Array, index: lat.get('index')!.data as Int32Array, value: lat.get('value')!.data as Float32Array };
  const nnz = codes.index.length;
  if (codes.value.length !== nnz) throw bad(dir, RUN_FILES.latents, `has ${nnz} indices but ${codes.value.length} values`);
  if (codes.rowPtr[0] !== 0 || codes.rowPtr[T] !== nnz) throw bad(dir, RUN_FILES.latents, `row_ptr runs from ${codes.rowPtr[0]} to ${codes.rowPtr[T]}, expected 0 to ${nnz}`);
  for (let t = 0; t < T; t++) {
    if (codes.rowPtr[t + 1] < codes.rowPtr[t]) throw bad(dir, RUN_FILES.latents, `row_ptr decreases at token ${t}`);
  }
  for (let j = 0; j < nnz; j++) {
    if (codes.index[j] < 0 || codes.index[j] >= L) throw bad(dir, RUN_FILES.latents, `has latent index ${codes.index[j]}, outside 0..${L - 1}`);
  }
  return { dir, cfg, sae, codes, metrics, tokens };
}
