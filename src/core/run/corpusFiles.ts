/**
 * The files of a corpus run (tokens.json `files`): which one a text is, by its sha256, and that
 * file's part of the run's per-token arrays (tokens, offsets within the file; top latents; a latent's activations).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunFile, RunTokens } from './format';
import { RUN_FILES } from './runDir';

/** The file of the corpus run whose text has this sha256 (the first, when files repeat), or undefined (not a corpus run, or not one of its texts). */
export function corpusFileOf(tokens: Pick<RunTokens, 'files'>, sha256: string): RunFile | undefined {
  return tokens.files?.find((f) => f.sha256 === sha256);
}

/** One file's rows of a per-token array of the run ([T] → [file.tokens]): rows [first, first + tokens). */
export function fileRows<T>(rows: readonly T[], file: RunFile): T[] {
  return rows.slice(file.first, file.first + file.tokens);
}

/** The `files` of a run directory's tokens.json, or undefined when it has none or cannot be read (the SAE itself is what matters to its reader). */
export function readRunFiles(dir: string): RunFile[] | undefined {
  try {
    const tokens = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.tokens), 'utf8')) as Partial<RunTokens>;
    return Array.isArray(tokens.files) ? tokens.files : undefined;
  } catch {
    return undefined;
  }
}
