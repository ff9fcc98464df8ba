import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors';
import { encodeSafetensors, readSafetensors, type Tensor } from '../safetensors';
import type { SparseCodes } from '../sae/types';
import { RUN_FORMAT_VERSION, type RunCfg, type RunMetrics, type RunTokens } from './format';
import { pidAlive } from '../pidAlive';

export const RUN_FILES = { cfg: 'cfg.json', sae: 'sae.safetensors', latents: 'latents.safetensors', metrics: 'metrics.json', tokens: 'tokens.json' } as const;

/** What one training run leaves on disk (see format.ts). */
export interface RunParts {
  cfg: RunCfg;
  /** W_enc [d_in, d_sae], row-major. */
  w: Float32Array;
  /** Codes of every token, rows in token order. */
  codes: SparseCodes;
  metrics: RunMetrics;
  tokens: RunTokens;
}

export interface RunContents extends RunParts {
  dir: string;
}

/** W [rows, cols] → Wᵀ [cols, rows]. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

function checkParts(p: RunParts): void {
  const { d_in: d, d_sae: L } = p.cfg.sae;
  const T = p.cfg.n_tokens;
  const problems = [
    p.w.length !== d * L && `W has ${p.w.length} values, not d_in × d_sae = ${d * L}`,
    p.tokens.tokens.length !== T && `${p.tokens.tokens.length} tokens, but cfg.n_tokens is ${T}`,
    p.codes.rowPtr.length !== T + 1 && `codes have ${p.codes.rowPtr.length - 1} rows for ${T} tokens`,
  ].filter(Boolean);
  if (problems.length) throw new Error(`inconsistent run: ${problems.join('; ')}`);
}

function writeFileSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync of a directory, so renames in it survive a power cut; not possible on every platform. */
function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Windows cannot open directories; the rename is still atomic there.
  }
}

/** Removes temp/aside dirs of `name` left by processes that died mid-write. */
function removeStale(parent: string, name: string): void {
  const re = new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(?:tmp|old)-(\\d+)-[0-9a-f]+$`);
  for (const entry of fs.readdirSync(parent)) {
    const m = re.exec(entry);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
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
 * Writes a run directory atomically: every file goes into a sibling temp dir
 * `.<name>.tmp-<pid>-<rand>`, is fsynced, and the temp dir is renamed to `dir`. An existing run at
 * `dir` is renamed aside first and removed after, so `dir` is always either the old run, the new
 * run, or (for an instant between the two renames) absent — never half written. A directory that
 * is not a run (non-empty without cfg.json) is refused rather than replaced.
 */
export function writeRun(dir: string, parts: RunParts): void {
  checkParts(parts);
  checkRunTarget(dir);
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const name = path.basename(target);
  try {
    fs.mkdirSync(parent, { recursive: true });
    removeStale(parent, name);
  } catch (e) {
    throw new UserError(`cannot create the run directory's parent ${parent}: ${(e as Error).message}.`, 'E_OUTPUT');
  }
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${name}.tmp-${suffix}`);
  try {
    fs.mkdirSync(tmp);
    const { d_in: d, d_sae: L } = parts.cfg.sae;
    const sae: Record<string, Tensor> = {
      W_enc: { dtype: 'F32', shape: [d, L], data: parts.w },
      W_dec: { dtype: 'F32', shape: [L, d], data: transpose(parts.w, d, L) },
      b_enc: { dtype: 'F32', shape: [L], data: new Float32Array(L) },
      b_dec: { dtype: 'F32', shape: [d], data: new Float32Array(d) },
    };
    const nnz = parts.codes.index.length;
    const latents: Record<string, Tensor> = {
      row_ptr: { dtype: 'I32', shape: [parts.codes.rowPtr.length], data: parts.codes.rowPtr },
      index: { dtype: 'I32', shape: [nnz], data: parts.codes.index },
      value: { dtype: 'F32', shape: [nnz], data: parts.codes.value },
    };
    const meta = { format: 'latent-lens-run', version: String(RUN_FORMAT_VERSION) };
    writeFileSynced(path.join(tmp, RUN_FILES.sae), encodeSafetensors(sae, meta));
    writeFileSynced(path.join(tmp, RUN_FILES.latents), encodeSafetensors(latents, meta));
    writeFileSynced(path.join(tmp, RUN_FILES.cfg), `${JSON.stringify(parts.cfg, null, 2)}\n`);
    writeFileSynced(path.join(tmp, RUN_FILES.metrics), `${JSON.stringify(parts.metrics, null, 2)}\n`);
    writeFileSynced(path.join(tmp, RUN_FILES.tokens), `${JSON.stringify(parts.tokens)}\n`);
    syncDir(tmp);
    let aside: string | undefined;
    if (fs.existsSync(target)) {
      aside = path.join(parent, `.${name}.old-${suffix}`);
      fs.renameSync(target, aside);
    }
    try {
      fs.renameSync(tmp, target);
    } catch (e) {
      if (aside) fs.renameSync(aside, target);
      throw e;
    }
    syncDir(parent);
    if (aside) fs.rmSync(aside, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot write the run directory ${dir}: ${(e as Error).message}. Check that its parent is writable and has free space.`, 'E_OUTPUT');
  }
}

function bad(dir: string, file: string, why: string): UserError {
  return new UserError(`run directory ${dir}: ${file} ${why}. The run is damaged or from another tool; train it again (latent-lens train ... --out ${dir}).`, 'E_RUN');
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
    throw new UserError(`run directory ${dir}: ${file} has format version ${JSON.stringify(version)}, but this Latent Lens reads version ${RUN_FORMAT_VERSION}; train the run again with this version.`, 'E_RUN_VERSION');
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

/** Reads and cross-checks a run directory; every problem is a UserError naming the file. */
export function readRun(dir: string): RunContents {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UserError(`run directory ${dir} does not exist; give the --out directory of a finished \`latent-lens train\`.`, 'E_RUN');
  }
  const cfg = readJson(dir, RUN_FILES.cfg) as unknown as RunCfg;
  const { sae, model, train } = cfg;
  if (typeof sae !== 'object' || sae === null || typeof model !== 'object' || model === null || typeof train !== 'object' || train === null) {
    throw bad(dir, RUN_FILES.cfg, 'lacks its sae, model or train section');
  }
  for (const [key, v] of [['sae.d_in', sae.d_in], ['sae.d_sae', sae.d_sae], ['sae.k', sae.k], ['n_tokens', cfg.n_tokens]] as const) {
    if (!positiveInt(v)) throw bad(dir, RUN_FILES.cfg, `has ${key} = ${JSON.stringify(v)}, expected a positive integer`);
  }
  if (typeof sae.hook_name !== 'string' || typeof model.name !== 'string') throw bad(dir, RUN_FILES.cfg, 'lacks sae.hook_name or model.name');
  const tokens = readJson(dir, RUN_FILES.tokens) as unknown as RunTokens;
  if (!Array.isArray(tokens.tokens)) throw bad(dir, RUN_FILES.tokens, 'has no tokens array');
  const T = tokens.tokens.length;
  if (T !== cfg.n_tokens) throw bad(dir, RUN_FILES.tokens, `lists ${T} tokens, but cfg.json says n_tokens = ${cfg.n_tokens}`);
  const metrics = readJson(dir, RUN_FILES.metrics) as unknown as RunMetrics;
  if (!Array.isArray(metrics.curve) || typeof metrics.final !== 'object' || metrics.final === null) throw bad(dir, RUN_FILES.metrics, 'lacks curve or final');

  const { d_in: d, d_sae: L } = sae;
  const weights = readTensors(dir, RUN_FILES.sae, { W_enc: { dtype: 'F32', shape: [d, L] } });
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
  return { dir, cfg, w: weights.get('W_enc')!.data as Float32Array, codes, metrics, tokens };
}
