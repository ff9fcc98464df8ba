import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors';
import { pidAlive } from '../pidAlive';

/** A file's content: text, bytes, or bytes in parts written one after the other (a large file need not be joined in memory). */
export type FileData = string | Uint8Array | readonly Uint8Array[];

/** Writes `data` to `file` and fsyncs it (no rename: the caller writes to a temp path). */
export function writeFileSynced(file: string, data: FileData): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const part of typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data) {
      for (let off = 0; off < part.length; ) off += fs.writeSync(fd, part, off);
    }
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

/** Removes temp/aside dirs of `name` in `parent` left by processes that died mid-write. */
export function removeStale(parent: string, name: string): void {
  const re = new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(?:tmp|old)-(\\d+)-[0-9a-f]+$`);
  for (const entry of fs.readdirSync(parent)) {
    const m = re.exec(entry);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
}

/**
 * A fresh path `.<name>.tmp-<pid>-<rand>` beside `dir` (not created) where its replacement can be
 * built, after removing the temp and aside dirs of `dir` that dead processes left. `what` names
 * `dir` in errors.
 */
export function stagingPath(dir: string, what: string): string {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const name = path.basename(target);
  try {
    fs.mkdirSync(parent, { recursive: true });
    removeStale(parent, name);
  } catch (e) {
    throw new UserError(`cannot create the parent ${parent} of ${what}: ${(e as Error).message}.`, 'E_OUTPUT');
  }
  return path.join(parent, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Moves the complete directory `staged` (built in or at a stagingPath of `dir`) onto `dir`. An
 * existing `dir` (which the caller has checked is its own to replace) is renamed aside first and
 * removed after, so `dir` is always either the old directory, the new one, or (for an instant
 * between the two renames) absent — never half written. Throws the rename's error; `staged` is then
 * still there for the caller to remove.
 */
export function replaceDir(staged: string, dir: string): void {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  syncDir(staged);
  let aside: string | undefined;
  if (fs.existsSync(target)) {
    aside = path.join(parent, `.${path.basename(target)}.old-${process.pid}-${randomBytes(4).toString('hex')}`);
    fs.renameSync(target, aside);
  }
  try {
    fs.renameSync(staged, target);
  } catch (e) {
    if (aside) fs.renameSync(aside, target);
    throw e;
  }
  syncDir(parent);
  if (aside) fs.rmSync(aside, { recursive: true, force: true });
}

/**
 * Writes a directory of files atomically: every file goes into a stagingPath of `dir`, is fsynced,
 * and the staged dir replaces `dir` (replaceDir). `what` names it in errors ("the run directory").
 */
export function writeDirAtomic(dir: string, files: Record<string, FileData>, what: string): void {
  const tmp = stagingPath(dir, what);
  try {
    fs.mkdirSync(tmp);
    for (const [file, data] of Object.entries(files)) writeFileSynced(path.join(tmp, file), data);
    replaceDir(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new UserError(`cannot write ${what} ${dir}: ${(e as Error).message}. Check that its parent is writable and has free space.`, 'E_OUTPUT');
  }
}
