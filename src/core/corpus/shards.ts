/**
 * Activation shards: a corpus's activations on disk, so that training streams them instead of
 * holding them, and so that a cancelled or crashed run resumes without extracting again.
 *
 * A file of the corpus with T tokens has shards j = 0, 1, … of rows [j·R, min(T, (j + 1)·R)), R the
 * rows per shard (SHARD_BYTES of float32 rows), named `<id>-<j>.safetensors` where id hashes the
 * shard format, the model's weights file (path, size, mtime), the hook, R and the file's text sha256.
 * Each holds `activations` F32 [rows, d] and repeats its key in its metadata. A shard is written to a
 * temp file, fsynced and renamed: it is whole or absent. One is reused when its metadata matches;
 * anything else under its name (damaged, another key) is written again. By default the shards of a
 * model and hook live under the cache root (shardCacheDir), so any later run on the same files
 * reuses them; a run that succeeds removes its own.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { cacheRoot } from '../model/download';
import type { Gpt2Model } from '../model/load';
import { pidAlive } from '../pidAlive';
import { writeFileSynced } from '../run/atomicDir';
import { readHeader, safetensorsParts } from '../safetensors';
import type { RowSource } from '../sae/rows';
import { textSha256 } from './text';

export const SHARD_VERSION = 1;
/** Bytes of activations per shard (16 MiB: 5461 rows of 768 floats). */
export const SHARD_BYTES = 16 * 1024 * 1024;

/** What a shard's activations depend on besides the file's text. */
export interface ShardKey {
  /** The weights file: resolved path, size and mtime (as the ONNX sessions are keyed). */
  model: string;
  hook: string;
  /** Features per row. */
  d: number;
  /** Rows per shard. */
  rows: number;
}

/** The key of `model`'s `hook` (width d), with shards of about `bytes` each. */
export function shardKey(model: Gpt2Model, hook: string, d: number, bytes = SHARD_BYTES): ShardKey {
  const st = fs.statSync(model.weightsPath);
  return { model: JSON.stringify([path.resolve(model.weightsPath), st.size, st.mtimeMs]), hook, d, rows: Math.max(1, Math.floor(bytes / (4 * d))) };
}

/** One shard of a file: rows [from, to) of it. */
export interface ShardSpec {
  file: string;
  from: number;
  to: number;
}

const TEMP_NAME = /^\.([0-9a-f]{24}-\d+\.safetensors)\.tmp-(\d+)-[0-9a-f]+$/;

function diskFull(e: unknown): boolean {
  return ['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException).code ?? '');
}

export class ShardStore {
  private readonly keyJson: string;

  constructor(
    readonly dir: string,
    readonly key: ShardKey,
  ) {
    this.keyJson = JSON.stringify([SHARD_VERSION, key]);
  }

  /** Creates the folder and removes temp files of processes that died mid-write. */
  open(): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      for (const name of fs.readdirSync(this.dir)) {
        const m = TEMP_NAME.exec(name);
        if (m && Number(m[2]) !== process.pid && !pidAlive(Number(m[2]))) fs.rmSync(path.join(this.dir, name), { force: true });
      }
    } catch (e) {
      throw new UserError(`cannot create the activation shard folder ${this.dir}: ${(e as Error).message}. Check that its parent is writable.`, 'E_OUTPUT');
    }
  }

  /** The shards of a file with text hash `sha256` and T tokens. */
  specs(sha256: string, T: number): ShardSpec[] {
    const id = textSha256(`${this.keyJson}\n${sha256}`).slice(0, 24);
    const R = this.key.rows;
    return Array.from({ length: Math.ceil(T / R) }, (_, j) => ({ file: path.join(this.dir, `${id}-${j}.safetensors`), from: j * R, to: Math.min(T, (j + 1) * R) }));
  }

  private meta(spec: ShardSpec, sha256: string, T: number): Record<string, string> {
    return { format: 'latent-lens-shard', key: this.keyJson, sha256, tokens: String(T), from: String(spec.from), to: String(spec.to) };
  }

  /** Whether the shard is on disk, whole and of this key, file and row range. */
  complete(spec: ShardSpec, sha256: string, T: number): boolean {
    try {
      const h = readHeader(spec.file);
      const a = h.tensors.get('activations');
      const want = this.meta(spec, sha256, T);
      return !!a && a.dtype === 'F32' && a.shape[0] === spec.to - spec.from && a.shape[1] === this.key.d && Object.entries(want).every(([k, v]) => h.metadata[k] === v);
    } catch {
      return false;
    }
  }

  /** Writes rows [spec.from, spec.to) of the file (`rows` [to − from, d]): whole or not at all. */
  write(spec: ShardSpec, sha256: string, T: number, rows: Float32Array, what: string): void {
    const tmp = path.join(this.dir, `.${path.basename(spec.file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      writeFileSynced(tmp, safetensorsParts({ activations: { dtype: 'F32', shape: [spec.to - spec.from, this.key.d], data: rows } }, this.meta(spec, sha256, T)));
      fs.renameSync(tmp, spec.file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      const why = diskFull(e) ? 'the disk is full' : (e as Error).message;
      throw new UserError(
        `cannot write an activation shard of ${what} in ${this.dir}: ${why}. The shards written so far are whole and will be reused; ${diskFull(e) ? 'free some disk space' : 'check that the folder is writable'} and run the same command again to resume.`,
        'E_OUTPUT',
      );
    }
  }

  /** Removes these shards and the folder when nothing else is left in it (shards are kept for a resume until a run on their files succeeds). */
  remove(specs: readonly ShardSpec[]): void {
    for (const s of specs) fs.rmSync(s.file, { force: true });
    try {
      fs.rmdirSync(this.dir);
    } catch {
      // other files' shards are still there
    }
  }
}

/** The shard folder of a key under the cache root: `<cache root>/shards/<hash of the key>`. */
export function shardCacheDir(key: ShardKey, cacheDir?: string): string {
  return path.join(cacheRoot(cacheDir), 'shards', textSha256(JSON.stringify([SHARD_VERSION, key])).slice(0, 16));
}

/** The shards of the rows, in row order: shard i holds rows [start_i, start_i + rows_i). */
interface OpenShard {
  file: string;
  start: number;
  rows: number;
  /** Byte offset of its first row. */
  begin: number;
}

/** Open file descriptors at most (the least recently used is closed first). */
const OPEN_FDS = 64;

/**
 * Rows read from shards with positioned reads, a row at a time for a shuffled minibatch (in file
 * order within the batch) and in runs for a sequential range; nothing is held but the read buffers.
 * `describe(t)` names row t in messages. Call close() when done.
 */
export function shardRows(shards: { file: string; rows: number }[], d: number, describe: (t: number) => string): RowSource & { close(): void } {
  const open: OpenShard[] = [];
  let T = 0;
  for (const s of shards) {
    const a = readHeader(s.file).tensors.get('activations');
    if (!a || a.shape[0] !== s.rows || a.shape[1] !== d) throw new Error(`shard ${s.file} does not hold ${s.rows} rows of ${d}`);
    open.push({ file: s.file, start: T, rows: s.rows, begin: a.begin });
    T += s.rows;
  }
  const fds = new Map<number, number>(); // shard index → fd, least recently used first
  const fdOf = (i: number): number => {
    let fd = fds.get(i);
    if (fd !== undefined) {
      fds.delete(i);
    } else {
      if (fds.size >= OPEN_FDS) {
        const [oldest, oldFd] = fds.entries().next().value!;
        fs.closeSync(oldFd);
        fds.delete(oldest);
      }
      fd = fs.openSync(open[i].file, 'r');
    }
    fds.set(i, fd);
    return fd;
  };
  const shardOf = (t: number): number => {
    let lo = 0;
    let hi = open.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (open[mid].start <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const rowBytes = 4 * d;
  const readRows = (i: number, t: number, n: number, out: Float32Array, at: number) => {
    const s = open[i];
    const want = n * rowBytes;
    if (fs.readSync(fdOf(i), out, at * rowBytes, want, s.begin + (t - s.start) * rowBytes) !== want) throw new Error(`shard ${s.file} is shorter than its header says`);
  };
  let buf = new Float32Array(0);
  return {
    T,
    dIn: d,
    range(from, n) {
      if (buf.length < n * d) buf = new Float32Array(n * d);
      for (let t = from; t < from + n; ) {
        const i = shardOf(t);
        const k = Math.min(from + n, open[i].start + open[i].rows) - t;
        readRows(i, t, k, buf, t - from);
        t += k;
      }
      return buf.subarray(0, n * d);
    },
    gather(order, from, n, out) {
      const pos = Int32Array.from({ length: n }, (_, r) => r).sort((a, b) => order[from + a] - order[from + b]);
      for (const r of pos) {
        const t = order[from + r];
        readRows(shardOf(t), t, 1, out, r);
      }
      return out.subarray(0, n * d);
    },
    describe,
    close() {
      for (const fd of fds.values()) fs.closeSync(fd);
      fds.clear();
    },
  };
}
