/**
 * Reading a corpus before any model work: which files are text, each file's sha256 and token count,
 * and the token cap. A file is skipped (and listed) when it is larger than the byte limit, cannot be
 * read, looks binary (text.ts looksBinary), or is empty or only whitespace.
 */
import * as fs from 'node:fs';
import { throwIfAborted, UserError } from '../errors';
import type { SkippedFile } from '../run/format';
import { countTokens } from '../tokenizer';
import type { CorpusFile } from './list';
import { decodeText, looksBinary, textSha256 } from './text';

/** A limit and the flag or setting that sets it, for messages. */
export interface Limit {
  value: number;
  setting: string;
}

export interface CorpusLimits {
  /** Most GPT-2 tokens of the corpus. */
  maxTokens: Limit;
  /** Larger files are skipped as oversized. */
  maxFileBytes: Limit;
}

/** The limits of a corpus run by default: the tokens whose peak memory bench/corpus.ts measures, and files up to 1 MiB. */
export const CORPUS_MAX_TOKENS = 200_000;
export const CORPUS_MAX_FILE_BYTES = 1024 * 1024;

/** A corpus file with text: what extraction will read again (and check) and the shards it is keyed by. */
export interface ScannedFile extends CorpusFile {
  sha256: string;
  tokens: number;
}

export interface CorpusScan {
  files: ScannedFile[];
  skipped: SkippedFile[];
  tokens: number;
}

const size = (bytes: number) => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`);

/** A corpus file's text now, or why it has none (vanished: it no longer exists). */
export function readCorpusFile(file: CorpusFile, maxFileBytes: Limit): { text: string } | SkippedFile {
  let data: Buffer;
  try {
    const bytes = fs.statSync(file.abs).size;
    if (bytes > maxFileBytes.value) return { path: file.path, why: 'oversized', detail: `${size(bytes)}, over the ${size(maxFileBytes.value)} limit (${maxFileBytes.setting})` };
    data = fs.readFileSync(file.abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path: file.path, why: 'vanished', detail: 'no longer exists' };
    return { path: file.path, why: 'unreadable', detail: `cannot be read (${code ?? (e as Error).message})` };
  }
  const text = decodeText(data);
  if (looksBinary(text)) return { path: file.path, why: 'binary', detail: 'binary (NUL bytes or mostly control characters)' };
  if (text.trim() === '') return { path: file.path, why: 'empty', detail: 'empty or only whitespace' };
  return { text };
}

/** "3 binary, 1 empty" */
export function skipCounts(skipped: readonly SkippedFile[]): string {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.why, (counts.get(s.why) ?? 0) + 1);
  return [...counts].map(([why, n]) => `${n} ${why}`).join(', ');
}

/**
 * Reads every file once: its sha256 and token count, or why it is skipped. More tokens than the cap
 * is a UserError naming the setting, raised as soon as the count passes it; no text file at all is one too.
 */
export function scanCorpus(root: string, files: readonly CorpusFile[], limits: CorpusLimits, o: { signal?: AbortSignal; onFile?: (done: number, total: number) => void } = {}): CorpusScan {
  const scanned: ScannedFile[] = [];
  const skipped: SkippedFile[] = [];
  let tokens = 0;
  for (const [i, file] of files.entries()) {
    throwIfAborted(o.signal, 'reading the corpus');
    const read = readCorpusFile(file, limits.maxFileBytes);
    if ('why' in read) {
      skipped.push(read);
    } else {
      const n = countTokens(read.text);
      scanned.push({ ...file, sha256: textSha256(read.text), tokens: n });
      tokens += n;
      if (tokens > limits.maxTokens.value) {
        const { value, setting } = limits.maxTokens;
        throw new UserError(
          `the corpus in ${root} has more than ${value} GPT-2 tokens (${tokens} in its first ${i + 1} of ${files.length} files), the limit set by ${setting}. Train on fewer files (a subfolder, or include/exclude globs), or raise ${setting} (memory grows with the tokens: the codes take T × k × 8 bytes).`,
          'E_TOO_MANY_TOKENS',
        );
      }
    }
    o.onFile?.(i + 1, files.length);
  }
  if (scanned.length === 0) {
    throw new UserError(`no text files to train on in ${root}: all ${files.length} files listed were skipped (${skipCounts(skipped)}). Give a folder or glob with text files.`, 'E_EMPTY');
  }
  return { files: scanned, skipped, tokens };
}
