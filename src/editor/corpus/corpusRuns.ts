/**
 * Finished corpus runs, remembered so that opening any file of a corpus shows its tokens' latents
 * from the corpus's SAE, with no retraining. Layout under `root` (beside the per-document cache):
 *   corpora.json                  CorpusEntry[], newest first, one per corpus folder
 *   <sha256(folder)[0..16]>/<id>/ the run directory
 * A document is a file of a run when the sha256 of its text is the one the run's tokens.json
 * recorded for a file (shared/corpusView.ts); an edited file matches none. Free of `vscode`.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { textSha256 } from '../../core/corpus/text';
import { corpusFileOf, readRunFiles } from '../../core/run/corpusFiles';
import type { RunFile } from '../../core/run/format';
import { fileView } from '../../shared/corpusView';
import type { RunView } from '../../shared/protocol';
import { loadRunView } from '../runCache';

const INDEX_FILE = 'corpora.json';
const INDEX_VERSION = 1;

export interface CorpusEntry {
  version: number;
  /** The corpus's folder (its URI as a string). */
  folder: string;
  runDir: string;
  createdAt: string;
}

export class CorpusRuns {
  /** Each remembered run's files, read once from its tokens.json. */
  private readonly files = new Map<string, RunFile[]>();
  /** The last run view read whole (a corpus's analysis is large: opening several of its files reads it once). */
  private lastView?: RunView;

  constructor(readonly root: string) {}

  /** A fresh, not yet existing run directory for a corpus folder. */
  newRunDir(folder: string): string {
    return path.join(this.root, textSha256(folder).slice(0, 16), randomUUID());
  }

  /** Every remembered corpus run, newest first (unreadable index: none). */
  entries(): CorpusEntry[] {
    try {
      const list = JSON.parse(fs.readFileSync(path.join(this.root, INDEX_FILE), 'utf8')) as CorpusEntry[];
      return Array.isArray(list) ? list.filter((e) => e.version === INDEX_VERSION) : [];
    } catch {
      return [];
    }
  }

  /** Records a finished run of a folder; the folder's earlier run directories are deleted. */
  save(folder: string, runDir: string): CorpusEntry {
    const entry: CorpusEntry = { version: INDEX_VERSION, folder, runDir, createdAt: new Date().toISOString() };
    const old = this.entries().filter((e) => e.folder === folder);
    const list = [entry, ...this.entries().filter((e) => e.folder !== folder)];
    fs.mkdirSync(this.root, { recursive: true });
    const tmp = path.join(this.root, `${INDEX_FILE}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(list, null, 2));
    fs.renameSync(tmp, path.join(this.root, INDEX_FILE));
    for (const e of old) {
      if (path.resolve(e.runDir) === path.resolve(runDir)) continue;
      fs.rmSync(e.runDir, { recursive: true, force: true });
      this.files.delete(e.runDir);
    }
    return entry;
  }

  /** The view of the file of a remembered corpus run (the newest that has it) whose text is `text`, or undefined. */
  lookup(text: string): { entry: CorpusEntry; view: RunView } | undefined {
    const sha = textSha256(text);
    for (const entry of this.entries()) {
      let files = this.files.get(entry.runDir);
      if (!files) {
        files = readRunFiles(entry.runDir) ?? [];
        this.files.set(entry.runDir, files);
      }
      const file = corpusFileOf({ files }, sha);
      if (!file) continue;
      const view = this.lastView?.runDir === entry.runDir ? this.lastView : loadRunView(entry.runDir);
      if (!view) continue;
      this.lastView = view;
      return { entry, view: fileView(view, file) };
    }
    return undefined;
  }
}
