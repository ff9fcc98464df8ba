/**
 * Extraction of a corpus into activation shards, file by file, of one hook or several at once (a
 * layer scan: one pass of the model per window for all its layers): each file is read again, checked
 * against its sha256 from the scan (a file that changed or vanished since is skipped, and listed),
 * tokenized, and run in windows as one document (extract.ts planWindows: windows restart in every
 * file); each shard is written as soon as its rows are done. Shards already on disk (a resumed run)
 * are not extracted again, nor are the windows that only feed them, nor the hooks whose shards of a
 * file are all there.
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
  /** Per target, in the order given: the rows of every token from its shards (close() when done), and the shards they are in. */
  hooks: { rows: RowSource & { close(): void }; shards: ShardSpec[] }[];
  /** The provider that ran, undefined when every shard was already on disk. */
  provider?: Provider;
  /** Tokens extracted now (for at least one hook), and read from shards of an earlier run (for every hook). */
  extracted: number;
  reused: number;
  ms: number;
}

export interface CorpusExtractOptions {
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: CorpusProgress) => void;
}

/** A hook to extract and the store its shards go to. */
export interface ExtractTarget {
  hook: Hook;
  store: ShardStore;
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

export async function extractCorpus(scan: CorpusScan, read: ReadFile, model: Gpt2Model, targets: ExtractTarget[], o: CorpusExtractOptions = {}): Promise<CorpusExtraction> {
  const t0 = performance.now();
  for (const t of targets) t.store.open();
  const files: RunFile[] = [];
  const tokens: Token[] = [];
  const skipped: SkippedFile[] = [];
  const shards: ShardSpec[][] = targets.map(() => []);
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
    // Per target: its shards of this file, those on disk before, and those done so far.
    const plans = targets.map(({ hook, store }) => {
      const specs = store.specs(file.sha256, T);
      const onDisk = specs.map((s) => store.complete(s, file.sha256, T));
      return { hook, store, specs, onDisk, done: [...onDisk], R: store.key.rows, pending: new Map<number, Float32Array>() }; // pending: shard index → its rows so far
    });
    type Plan = (typeof plans)[number];
    const shardsOf = (p: Plan, from: number, to: number) => p.specs.slice(Math.floor(from / p.R), Math.floor((to - 1) / p.R) + 1);
    const progress = (tokensInFile: number) => o.onProgress?.({ files: i, totalFiles: scan.files.length, tokens: extracted + reused + tokensInFile, totalTokens, path: file.path });
    progress(0);
    const needed = plans.filter((p) => !p.onDisk.every(Boolean));
    if (needed.length > 0) {
      const runner = await windowRunner(toks, model, needed.map((p) => p.hook.name), { threads: o.threads, signal: o.signal });
      provider ??= runner.provider;
      await runWindows(
        runner,
        T,
        model.config.nPositions,
        (from, rows) => {
          let to = from;
          for (const p of needed) {
            const d = p.hook.width;
            const x = rows.get(p.hook.name)!;
            to = from + x.length / d;
            for (const s of shardsOf(p, from, to)) {
              const j = s.from / p.R;
              if (p.done[j]) continue;
              let buf = p.pending.get(j);
              if (!buf) p.pending.set(j, (buf = new Float32Array((s.to - s.from) * d)));
              const a = Math.max(from, s.from);
              const b = Math.min(to, s.to);
              buf.set(x.subarray((a - from) * d, (b - from) * d), (a - s.from) * d);
              if (b === s.to) {
                p.store.write(s, file.sha256, T, buf, file.path);
                p.pending.delete(j);
                p.done[j] = true;
              }
            }
          }
          progress(to);
        },
        (win) => needed.some((p) => shardsOf(p, win.keepFrom, win.end).some((s) => !p.done[s.from / p.R])),
      );
    }
    // A token is extracted now when any target's shard of it was not on disk.
    const fresh = new Uint8Array(T);
    for (const p of needed) p.specs.forEach((s, j) => !p.onDisk[j] && fresh.fill(1, s.from, s.to));
    const n = fresh.reduce((a, b) => a + b, 0);
    extracted += n;
    reused += T - n;
    files.push({ path: file.path, sha256: file.sha256, first: tokens.length, tokens: T });
    for (const t of toks) tokens.push(t);
    plans.forEach((p, k) => shards[k].push(...p.specs));
  }
  o.onProgress?.({ files: scan.files.length, totalFiles: scan.files.length, tokens: extracted + reused, totalTokens, path: '' });
  if (files.length === 0) {
    throw new UserError(`every text file of the corpus changed or vanished while it was being read (${skipped.map((s) => s.path).slice(0, 5).join(', ')}); run again once the files are settled.`, 'E_INPUT');
  }
  const describe = describer(files);
  const hooks = targets.map((t, k) => ({
    rows: shardRows(
      shards[k].map((s) => ({ file: s.file, rows: s.to - s.from })),
      t.hook.width,
      describe,
    ),
    shards: shards[k],
  }));
  return { files, tokens, skipped, hooks, provider, extracted, reused, ms: performance.now() - t0 };
}
