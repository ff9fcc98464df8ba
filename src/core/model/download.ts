/**
 * Where a GPT-2 model comes from.
 *
 * `resolveModel(spec)` returns a directory holding config.json + model.safetensors:
 * - `spec` naming an existing directory: that directory, no network.
 * - `spec` undefined and env LATENT_LENS_MODEL_DIR set: that directory, no network.
 * - `spec` undefined, "gpt2" (= openai-community/gpt2), "gpt2-medium" etc., or a hub id "owner/name":
 *   the repo's two files in the cache, `<cache root>/models/<owner>--<name>/`, downloaded on first use.
 *   The cache root is `opts.cacheDir`, else env LATENT_LENS_CACHE, else `$XDG_CACHE_HOME/latent-lens`
 *   or `~/.cache/latent-lens`. Once both files are there the hub is never contacted again.
 *
 * `downloadRepoFiles` fetches any repository's files the same way (SAEs: src/core/sae/source.ts, into
 * `<cache root>/saes/<owner>--<name>/<path in the repo>`).
 *
 * Download of each file (for a model config.json first, then model.safetensors), from
 * `{endpoint}/{repo}/resolve/main/{file}` with endpoint `opts.endpoint`, env LATENT_LENS_HF_ENDPOINT,
 * env HF_ENDPOINT or https://huggingface.co:
 * 1. HEAD, following redirects by hand so the hub's own headers are seen: size from `x-linked-size`
 *    (LFS files) or the final `content-length`; sha256 from `x-linked-etag`, or `etag` when it is 64
 *    hex digits (a git blob etag of 40 digits is not a sha256 and gives no checksum).
 * 2. GET into `<file>.part`, sending `Range: bytes=<have>-` when a partial file exists; a 206 appends,
 *    a 200 (server ignored the range) starts over. Progress reports bytes done/total per chunk.
 *    A transfer that breaks is resumed the same way, as long as attempts make progress (at most
 *    3 failures in a row); after that the .part is kept and the next run resumes it.
 * 3. Verify size and sha256 (when known): a mismatch deletes the .part and throws. Then rename the
 *    .part to its final name (atomic), so a final name always holds a complete, verified file.
 * A hub that cannot be reached (DNS, refused, 15 s connect timeout, TLS, HTTP 5xx) gives a UserError
 * naming the cache directory and the files to place there, and the --model / LATENT_LENS_MODEL_DIR
 * alternatives (code E_OFFLINE, so callers can fall back). HTTP(S)_PROXY is not used: behind a proxy,
 * place the files by hand. `opts.signal` cancels at any point (CancelledError); the .part is kept for
 * a later resume.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { finished } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { throwIfAborted, UserError, type ErrorCode } from '../errors';

export const DEFAULT_REPO = 'openai-community/gpt2';
export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const MODEL_FILES = ['config.json', 'model.safetensors'] as const;

export interface DownloadProgress {
  file: string;
  done: number;
  /** Bytes expected; 0 when the server did not say. */
  total: number;
}

export interface ResolveOptions {
  /** Cache root (models go to `<cacheDir>/models/<owner>--<name>`). */
  cacheDir?: string;
  endpoint?: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

const ALIASES: Record<string, string> = {
  gpt2: 'openai-community/gpt2',
  'gpt2-medium': 'openai-community/gpt2-medium',
  'gpt2-large': 'openai-community/gpt2-large',
  'gpt2-xl': 'openai-community/gpt2-xl',
};
export const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const CONNECT_TIMEOUT_MS = 15_000;
const IDLE_TIMEOUT_MS = 60_000;
const MAX_FAILURES_IN_A_ROW = 3;
const RETRY_DELAY_MS = 250;

export function cacheRoot(cacheDir?: string): string {
  if (cacheDir) return path.resolve(cacheDir);
  if (process.env.LATENT_LENS_CACHE) return path.resolve(process.env.LATENT_LENS_CACHE);
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'latent-lens');
}

/** The directory a hub repo is downloaded into. */
export function modelCacheDir(repo: string, cacheDir?: string): string {
  return path.join(cacheRoot(cacheDir), 'models', repo.replace(/\//g, '--'));
}

function endpointOf(opts: ResolveOptions): string {
  return (opts.endpoint ?? process.env.LATENT_LENS_HF_ENDPOINT ?? process.env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Resolves a model spec to a directory holding config.json and model.safetensors (see the module comment). */
export async function resolveModel(spec: string | undefined, opts: ResolveOptions = {}): Promise<string> {
  if (spec === undefined) {
    const env = process.env.LATENT_LENS_MODEL_DIR;
    if (env) {
      if (!isDir(env)) throw new UserError(`LATENT_LENS_MODEL_DIR is ${env}, which is not a directory. Point it at a directory holding config.json and model.safetensors, or unset it to download GPT-2.`, 'E_MODEL');
      return path.resolve(env);
    }
    return downloadModel(DEFAULT_REPO, opts);
  }
  if (isDir(spec)) return path.resolve(spec);
  const repo = ALIASES[spec] ?? spec;
  if (!REPO_ID.test(repo)) {
    throw new UserError(`--model ${spec}: no such directory (${path.resolve(spec)}), and not a Hugging Face model name such as gpt2 or openai-community/gpt2.`, 'E_MODEL');
  }
  return downloadModel(repo, opts, ALIASES[spec] ? undefined : path.resolve(spec));
}

/**
 * Downloads (or finds in the cache) a hub repo's config.json and model.safetensors; returns the directory.
 * `notLocal` is the directory the user's spec would have named, mentioned if the hub has no such repo.
 */
export async function downloadModel(repo: string, opts: ResolveOptions = {}, notLocal?: string): Promise<string> {
  const dir = modelCacheDir(repo, opts.cacheDir);
  await downloadRepoFiles({ repo, files: [...MODEL_FILES], dir }, opts, {
    code: 'E_MODEL',
    notFound: `${notLocal ? ` Nor is there a local directory ${notLocal}.` : ''} Check the model name, or use --model DIR with a local GPT-2 directory.`,
    alternatives: 'or give a directory holding them with --model DIR or the LATENT_LENS_MODEL_DIR environment variable.',
  });
  return dir;
}

/** Files of a hub repository and where they go: `<dir>/<file>` for each repo path `file`. */
export interface RepoFiles {
  repo: string;
  /** Paths in the repository, e.g. "config.json" or "blocks.6.hook_resid_pre/cfg.json". */
  files: string[];
  dir: string;
}

/** What the errors of a download say besides the machinery's facts. */
export interface DownloadHelp {
  /** Code of a repo or file the hub does not have, or will not give. */
  code: ErrorCode;
  /** Appended to "… has no FILE on the hub.": what to check instead. */
  notFound: string;
  /** The last line of the offline help: other ways to get the files. */
  alternatives: string;
}

/**
 * Downloads each of `r.files` not yet in `r.dir`, in order, as the module comment describes (HEAD,
 * resumable GET, size and sha256 check, atomic rename). Files already there are not checked again.
 */
export async function downloadRepoFiles(r: RepoFiles, opts: ResolveOptions, help: DownloadHelp): Promise<void> {
  if (r.files.every((f) => fs.existsSync(path.join(r.dir, f)))) return;
  const ctx: Ctx = { ...r, endpoint: endpointOf(opts), opts, help };
  for (const file of r.files) await fetchFile(ctx, file);
}

interface Ctx extends RepoFiles {
  endpoint: string;
  opts: ResolveOptions;
  help: DownloadHelp;
}

interface RemoteInfo {
  size?: number;
  sha256?: string;
}

function offlineHelp(ctx: Ctx): string {
  return [
    `To run without the hub, place these files from ${DEFAULT_ENDPOINT}/${ctx.repo} (revision main) in`,
    `  ${ctx.dir}${path.sep}`,
    ...ctx.files.map((f) => `    ${f}`),
    ctx.help.alternatives,
    `(LATENT_LENS_HF_ENDPOINT names a mirror of the hub.)`,
  ].join('\n');
}

function unreachable(ctx: Ctx, why: string): UserError {
  return new UserError(`cannot reach the Hugging Face hub at ${ctx.endpoint} to download ${ctx.repo} (${why}).\n${offlineHelp(ctx)}`, 'E_OFFLINE');
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const msg = String(err.message ?? e);
  return err.code && !msg.includes(err.code) ? `${err.code}: ${msg}` : msg;
}

/** One request; rejects on network errors, a connect timeout, or a stalled transfer. */
function send(url: URL, method: 'HEAD' | 'GET', headers: Record<string, string>, signal?: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method, headers: { 'user-agent': 'latent-lens', ...headers }, signal });
    req.on('socket', (sock) => {
      if (!sock.connecting) return;
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no connection to ${url.host} within ${CONNECT_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
      sock.once('connect', () => clearTimeout(timer));
      sock.once('close', () => clearTimeout(timer));
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no data from ${url.host} for ${IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Follows redirects by hand, collecting the hub's x-linked-* headers from whichever hop carries them. */
async function request(url: string, method: 'HEAD' | 'GET', headers: Record<string, string>, signal?: AbortSignal): Promise<{ res: http.IncomingMessage; linked: RemoteInfo }> {
  let u = new URL(url);
  const linked: RemoteInfo = {};
  for (let hop = 0; hop < 10; hop++) {
    const res = await send(u, method, headers, signal);
    const size = res.headers['x-linked-size'];
    if (linked.size === undefined && typeof size === 'string' && /^\d+$/.test(size)) linked.size = Number(size);
    const sha = sha256Of(res.headers['x-linked-etag']);
    if (linked.sha256 === undefined && sha) linked.sha256 = sha;
    const loc = res.headers.location;
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && loc) {
      res.resume();
      u = new URL(loc, u);
      continue;
    }
    return { res, linked };
  }
  throw new Error(`too many redirects from ${url}`);
}

function sha256Of(etag: string | string[] | undefined): string | undefined {
  if (typeof etag !== 'string') return undefined;
  const v = etag.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  return /^[0-9a-f]{64}$/.test(v) ? v : undefined;
}

function httpError(ctx: Ctx, file: string, url: string, status: number): UserError {
  if (status === 404) return new UserError(`${url} was not found (HTTP 404): ${ctx.repo} has no ${file} on the hub.${ctx.help.notFound}`, ctx.help.code);
  if (status === 401 || status === 403) {
    return new UserError(`${url} needs authorization (HTTP ${status}); Latent Lens downloads public repositories only.\n${offlineHelp(ctx)}`, ctx.help.code);
  }
  return unreachable(ctx, `HTTP ${status} for ${url}`);
}

async function remoteInfo(ctx: Ctx, file: string, url: string): Promise<RemoteInfo> {
  let got: { res: http.IncomingMessage; linked: RemoteInfo };
  try {
    got = await request(url, 'HEAD', {}, ctx.opts.signal);
  } catch (e) {
    throwIfAborted(ctx.opts.signal, `download of ${ctx.repo}`);
    throw unreachable(ctx, describe(e));
  }
  const { res, linked } = got;
  res.resume();
  if (res.statusCode !== 200) throw httpError(ctx, file, url, res.statusCode ?? 0);
  const len = res.headers['content-length'];
  return {
    size: linked.size ?? (typeof len === 'string' && /^\d+$/.test(len) ? Number(len) : undefined),
    sha256: linked.sha256 ?? sha256Of(res.headers.etag),
  };
}

function sizeOf(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS']);

/** One GET from `have` bytes on, appended to `part`. */
async function getInto(ctx: Ctx, file: string, url: string, part: string, have: number, total: number): Promise<void> {
  const { signal, onProgress } = ctx.opts;
  const { res } = await request(url, 'GET', have > 0 ? { range: `bytes=${have}-` } : {}, signal);
  let done = have;
  if (res.statusCode === 200) {
    done = 0;
  } else if (res.statusCode === 206) {
    const m = /^bytes (\d+)-/.exec(String(res.headers['content-range']));
    if (!m || Number(m[1]) !== have) {
      res.destroy();
      fs.rmSync(part, { force: true });
      throw new Error(`the server resumed at ${m ? m[1] : 'an unknown byte'} instead of byte ${have}`);
    }
  } else if (res.statusCode === 416) {
    res.resume();
    fs.rmSync(part, { force: true });
    throw new Error(`the server refused to resume at byte ${have}`);
  } else {
    res.resume();
    const err = httpError(ctx, file, url, res.statusCode ?? 0);
    if ((res.statusCode ?? 0) >= 500) throw new Error(err.message);
    throw err;
  }
  onProgress?.({ file, done, total });
  // Chunks are written synchronously as they arrive: when the connection breaks, the .part holds
  // every byte received (an async consumer would lose what is still buffered when the response is destroyed).
  const fd = fs.openSync(part, done === 0 ? 'w' : 'a');
  try {
    res.on('data', (chunk: Buffer) => {
      try {
        fs.writeSync(fd, chunk);
      } catch (e) {
        res.destroy(e as Error);
        return;
      }
      done += chunk.length;
      onProgress?.({ file, done, total });
    });
    await finished(res);
  } finally {
    fs.closeSync(fd);
  }
}

async function sha256File(p: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(p, { highWaterMark: 4 << 20 })) {
    throwIfAborted(signal, 'download check');
    h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

async function fetchFile(ctx: Ctx, file: string): Promise<void> {
  const final = path.join(ctx.dir, file);
  if (fs.existsSync(final)) return;
  const url = `${ctx.endpoint}/${ctx.repo}/resolve/main/${file}`;
  const { signal } = ctx.opts;
  const info = await remoteInfo(ctx, file, url);
  try {
    fs.mkdirSync(path.dirname(final), { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create the cache directory ${path.dirname(final)} (${(e as Error).message}). Set LATENT_LENS_CACHE to a writable directory.\n${offlineHelp(ctx)}`, ctx.help.code);
  }
  const part = `${final}.part`;
  let failures = 0;
  for (;;) {
    let have = sizeOf(part);
    if (info.size !== undefined && have > info.size) {
      fs.rmSync(part, { force: true });
      have = 0;
    }
    if (info.size !== undefined && have === info.size) break;
    try {
      await getInto(ctx, file, url, part, have, info.size ?? 0);
      if (info.size === undefined || sizeOf(part) === info.size) break;
      if (sizeOf(part) > info.size) {
        fs.rmSync(part, { force: true });
        throw new UserError(`${url} sent more than the ${info.size} bytes the hub announced for ${file}; the download was deleted. Run again, or place the file by hand.\n${offlineHelp(ctx)}`, 'E_CHECKSUM');
      }
      throw new Error(`the connection closed at byte ${sizeOf(part)} of ${info.size}`);
    } catch (e) {
      throwIfAborted(signal, `download of ${ctx.repo}`);
      if (e instanceof UserError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code && DISK_ERRORS.has(code)) {
        throw new UserError(`cannot write ${part} (${describe(e)}). Free disk space or set LATENT_LENS_CACHE to a writable directory with room for ${info.size ? `${Math.ceil(info.size / 1e6)} MB` : 'the download'}, then run again.`, ctx.help.code);
      }
      failures = sizeOf(part) > have ? 1 : failures + 1;
      if (failures >= MAX_FAILURES_IN_A_ROW) {
        throw new UserError(
          `downloading ${file} of ${ctx.repo} from ${ctx.endpoint} failed (${describe(e)}) after ${sizeOf(part)}${info.size ? ` of ${info.size}` : ''} bytes. The partial file ${part} is kept: run again to resume.\n${offlineHelp(ctx)}`,
          'E_OFFLINE',
        );
      }
      await delay(RETRY_DELAY_MS * failures, undefined, { signal }).catch(() => throwIfAborted(signal, `download of ${ctx.repo}`));
    }
  }
  if (info.sha256) {
    const got = await sha256File(part, signal);
    if (got !== info.sha256) {
      fs.rmSync(part, { force: true });
      throw new UserError(
        `${file} downloaded from ${url} has sha256 ${got}, but the hub lists ${info.sha256}; the download was corrupted (or altered by a proxy) and has been deleted. Run again to download it afresh.`,
        'E_CHECKSUM',
      );
    }
  }
  fs.renameSync(part, final);
}
