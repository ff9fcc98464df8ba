/**
 * Extraction of a corpus into activation shards, file by file: each file is read again, checked
 * against its sha256 from the scan (a file that changed or vanished since is skipped, and listed),
 * tokenized, and run in windows as one document (extract.ts planWindows: windows restart in every
 * file); each shard is written as soon as its rows are done. Shards already on disk (a resumed run)
 * are not extracted again, nor are the windows that only feed them.
 */
import { throwIfAborted, UserError } from '../errors';
import { runWindows, windowRunner, type Provider } from '../extract';
import type { Hook } from '../hooks';
import type { Gpt2Model } from '../model/load';
import type { RunFile, SkippedFile } from '../run/format';
import type { RowSource } from '../sae/rows';
import { tokenize, type Token } from '../tokenizer';
import type { CorpusScan, ScannedFile } from './scan';
import { shardRows, type ShardSpec, type ShardStore } from './shards';
import { textSha256 } from './text';

export interface CorpusProgress {
  /** Files done (extracted, reused or skipped) and listed. */
  files: number;
  totalFiles: number;
  /** Tokens done and in the files still expected (the scan's count, less the skipped files'). */
  tokens: number;
  totalTokens: number;
  /** The file being extracted. */
  path: string;
}

export interface CorpusExtraction {
  /** The files trained on, in token order. */
  files: RunFile[];
  /** Every token, offsets within its file. */
  tokens: Token[];
  /** Listed files that changed or vanished before their extraction. */
  skipped: SkippedFile[];
  /** The rows of every token from the shards; close() when done. */
  rows: RowSource & { close(): void };
  /** The shards they are in. */
  shards: ShardSpec[];
  /** The provider that ran, undefined when every shard was already on disk. */
  provider?: Provider;
  /** Tokens extracted now, and read from shards of an earlier run. */
  extracted: number;
  reused: number;
  ms: number;
}

export interface CorpusExtractOptions {
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: CorpusProgress) => void;
}

/** The file's text now, or why it was skipped. */
export type ReadFile = (f: ScannedFile) => { text: string } | SkippedFile;

/** "token 12 of notes/a.md" for row t of the corpus. */
function describer(files: RunFile[]): (t: number) => string {
  return (t) => {
    let lo = 0;
    let hi = files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (files[mid].first <= t) lo = mid;
      else hi = mid - 1;
    }
    return `token ${t - files[lo].first} of ${files[lo].path}`;
  };
}

export async function extractCorpus(scan: CorpusScan, read: ReadFile, model: Gpt2Model, hook: Hook, store: ShardStore, o: CorpusExtractOptions = {}): Promise<CorpusExtraction> {
  const t0 = performance.now();
  store.open();
  const files: RunFile[] = [];
  const tokens: Token[] = [];
  const skipped: SkippedFile[] = [];
  const shards: ShardSpec[] = [];
  const d = hook.width;
  let provider: Provider | undefined;
  let extracted = 0;
  let reused = 0;
  let totalTokens = scan.tokens;
  for (const [i, file] of scan.files.entries()) {
    throwIfAborted(o.signal, 'extraction');
    const now = read(file);
    const text = 'text' in now ? now.text : undefined;
    if (text === undefined || textSha256(text) !== file.sha256) {
      skipped.push(
        text === undefined
          ? { ...(now as SkippedFile), why: (now as SkippedFile).why === 'vanished' ? 'vanished' : 'changed', detail: `${(now as SkippedFile).detail} (since it was listed)` }
          : { path: file.path, why: 'changed', detail: 'changed since it was listed (its sha256 differs); run again to include its new text' },
      );
      totalTokens -= file.tokens;
      continue;
    }
    const toks = tokenize(text);
    const T = toks.length;
    const specs = store.specs(file.sha256, T);
    const onDisk = specs.map((s) => store.complete(s, file.sha256, T));
    const done = [...onDisk];
    const R = store.key.rows;
    const shardsOf = (from: number, to: number) => specs.slice(Math.floor(from / R), Math.floor((to - 1) / R) + 1);
    const progress = (tokensInFile: number) => o.onProgress?.({ files: i, totalFiles: scan.files.length, tokens: extracted + reused + tokensInFile, totalTokens, path: file.path });
    progress(0);
    if (!onDisk.every(Boolean)) {
      const runner = await windowRunner(toks, model, [hook.name], { threads: o.threads, signal: o.signal });
      provider ??= runner.provider;
      const pending = new Map<number, Float32Array>(); // shard index → its rows so far
      await runWindows(
        runner,
        T,
        model.config.nPositions,
        (from, rows) => {
          const x = rows.get(hook.name)!;
          const to = from + x.length / d;
          for (const s of shardsOf(from, to)) {
            const j = s.from / R;
            if (done[j]) continue;
            let buf = pending.get(j);
            if (!buf) pending.set(j, (buf = new Float32Array((s.to - s.from) * d)));
            const a = Math.max(from, s.from);
            const b = Math.min(to, s.to);
            buf.set(x.subarray((a - from) * d, (b - from) * d), (a - s.from) * d);
            if (b === s.to) {
              store.write(s, file.sha256, T, buf, file.path);
              pending.delete(j);
              done[j] = true;
            }
          }
          progress(to);
        },
        (win) => shardsOf(win.keepFrom, win.end).some((s) => !done[s.from / R]),
      );
    }
    const fresh = specs.reduce((n, s, j) => n + (onDisk[j] ? 0 : s.to - s.from), 0);
    extracted += fresh;
    reused += T - fresh;
    files.push({ path: file.path, sha256: file.sha256, first: tokens.length, tokens: T });
    for (const t of toks) tokens.push(t);
    shards.push(...specs);
  }
  o.onProgress?.({ files: scan.files.length, totalFiles: scan.files.length, tokens: extracted + reused, totalTokens, path: '' });
  if (files.length === 0) {
    throw new UserError(`every text file of the corpus changed or vanished while it was being read (${skipped.map((s) => s.path).slice(0, 5).join(', ')}); run again once the files are settled.`, 'E_INPUT');
  }
  const rows = shardRows(
    shards.map((s) => ({ file: s.file, rows: s.to - s.from })),
    d,
    describer(files),
  );
  return { files, tokens, skipped, rows, shards, provider, extracted, reused, ms: performance.now() - t0 };
}
