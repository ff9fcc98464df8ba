/** The text inputs of `train` and `scan`: one document, or a corpus of folders, globs and files with its limits. */
import * as fs from 'node:fs';
import { UserError } from '../core/errors';
import { listCorpus, type Corpus } from '../core/corpus/list';
import { CORPUS_MAX_FILE_BYTES, CORPUS_MAX_TOKENS, type CorpusLimits } from '../core/corpus/scan';
import type { RunScope } from '../core/sae/config';
import { num, readTextFile } from './args';

export const CORPUS_FLAGS = {
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  'no-gitignore': { type: 'boolean' },
  'max-tokens': { type: 'string' },
  'max-file-bytes': { type: 'string' },
  shards: { type: 'string' },
} as const;

export const CORPUS_USAGE = `[--include GLOB]... [--exclude GLOB]... [--no-gitignore] [--max-tokens ${CORPUS_MAX_TOKENS}] [--max-file-bytes ${CORPUS_MAX_FILE_BYTES}] [--shards DIR]`;

type CorpusFlagValues = { include?: string[]; exclude?: string[]; 'no-gitignore'?: boolean; 'max-tokens'?: string; 'max-file-bytes'?: string };

/** One input that is a file, with no folder options: a one-document run (the presets exactly). */
function isDocument(positionals: string[], v: CorpusFlagValues): boolean {
  return positionals.length === 1 && v.include === undefined && v.exclude === undefined && fs.existsSync(positionals[0]) && fs.statSync(positionals[0]).isFile();
}

/**
 * Whether the inputs are one document or a corpus (`activations`: a run on saved activations, no
 * corpus), checked before any listing; corpus-only flags on a document are a UserError.
 */
export function inputScope(positionals: string[], v: CorpusFlagValues, activations?: string): RunScope {
  const scope = activations === undefined && !isDocument(positionals, v) ? 'corpus' : 'document';
  const only = (['no-gitignore', 'max-tokens', 'max-file-bytes'] as const).filter((f) => v[f] !== undefined);
  if (scope === 'document' && only.length) throw new UserError(`--${only[0]} applies to a corpus (a folder, a glob or several files), not to ${activations ?? positionals[0]}.`, 'E_USAGE');
  return scope;
}

export type TextInput = { source: string; text: string; corpus?: undefined } | { source: string; text?: undefined; corpus: Corpus & { limits: CorpusLimits } };

/** The inputs of `scope` (inputScope): the document's text, read now, or the corpus listed with its limits. */
export function textInput(positionals: string[], v: CorpusFlagValues, scope: RunScope): TextInput {
  if (scope === 'document') return { source: positionals[0], text: readTextFile(positionals[0]) };
  const limit = (flag: 'max-tokens' | 'max-file-bytes', fallback: number) => {
    const n = num(flag, v[flag]) ?? fallback;
    if (!(Number.isInteger(n) && n >= 2)) throw new UserError(`--${flag} must be an integer ≥ 2, got ${v[flag]}.`, 'E_USAGE');
    return { value: n, setting: `--${flag}` };
  };
  const limits = { maxTokens: limit('max-tokens', CORPUS_MAX_TOKENS), maxFileBytes: limit('max-file-bytes', CORPUS_MAX_FILE_BYTES) };
  const corpus = { ...listCorpus(positionals, { include: v.include, exclude: v.exclude, gitignore: !v['no-gitignore'] }), limits };
  return { source: corpus.root, corpus };
}
