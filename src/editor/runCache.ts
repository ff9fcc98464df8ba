/**
 * Finished runs, remembered per document so decorations come back when the document is opened again.
 * Layout under `root` (the workspace storage, else the global storage):
 *   <sha256(uri)[0..16]>/entry.json   CacheEntry
 *   <sha256(uri)[0..16]>/<job id>/    the run directory
 * A document is matched by URI and by the sha256 of its text when the run started: VS Code restarts
 * document version numbers when a document is reopened, so the hash is what identifies "the same
 * version of the text". An edited document does not match and shows no stale run. Free of `vscode`.
 */
import { randomUUID } from 'node:crypto';
import { textSha256 as sha256 } from '../core/corpus/text';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ANALYSIS_FILE, ANALYSIS_VERSION } from '../core/analysis/types';
import { RUN_FORMAT_VERSION, type RunCfg } from '../core/run/format';
import { RUN_FILES } from '../core/run/runDir';
import type { RunView } from '../shared/protocol';

const ENTRY_FILE = 'entry.json';
const CACHE_VERSION = 1;

export interface CacheEntry {
  version: number;
  uri: string;
  /** The document's version when the run started (informative; see the module comment). */
  docVersion: number;
  textSha256: string;
  runDir: string;
  createdAt: string;
}


function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export class RunCache {
  constructor(readonly root: string) {}

  private docDir(uri: string): string {
    return path.join(this.root, sha256(uri).slice(0, 16));
  }

  /** A fresh, not yet existing run directory for a document. */
  newRunDir(uri: string): string {
    return path.join(this.docDir(uri), randomUUID());
  }

  /**
   * The directory of a layer scan of a document, by `key` (what the scan depends on: the text and
   * the SAE settings), so that the same scan started again resumes in it (its layers' run
   * directories are inside).
   */
  scanDir(uri: string, key: string): string {
    return path.join(this.docDir(uri), `scan-${key}`);
  }

  /** Records a finished run of `text` and deletes the document's other run directories (a scan's run: all but its scan's). */
  save(uri: string, docVersion: number, text: string, runDir: string): CacheEntry {
    const dir = this.docDir(uri);
    const entry: CacheEntry = { version: CACHE_VERSION, uri, docVersion, textSha256: sha256(text), runDir, createdAt: new Date().toISOString() };
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `${ENTRY_FILE}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(entry, null, 2));
    fs.renameSync(tmp, path.join(dir, ENTRY_FILE));
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      const keep = p === path.resolve(runDir) || path.resolve(runDir).startsWith(p + path.sep);
      if (!keep && name !== ENTRY_FILE && fs.statSync(p).isDirectory()) fs.rmSync(p, { recursive: true, force: true });
    }
    return entry;
  }

  /** The cached run of this exact text, if there is one and it is readable. */
  lookup(uri: string, text: string): { entry: CacheEntry; view: RunView } | undefined {
    const file = path.join(this.docDir(uri), ENTRY_FILE);
    let entry: CacheEntry;
    try {
      entry = readJson(file) as CacheEntry;
    } catch {
      return undefined;
    }
    if (entry.version !== CACHE_VERSION || entry.uri !== uri || entry.textSha256 !== sha256(text)) return undefined;
    const view = loadRunView(entry.runDir);
    return view && { entry, view };
  }

  /** Every remembered run whose cfg.json is readable and of this format version, newest first. */
  runs(): { uri: string; runDir: string; createdAt: string; cfg: RunCfg }[] {
    let dirs: string[];
    try {
      dirs = fs.readdirSync(this.root);
    } catch {
      return [];
    }
    return dirs
      .flatMap((d) => {
        try {
          const entry = readJson(path.join(this.root, d, ENTRY_FILE)) as CacheEntry;
          const cfg = readJson(path.join(entry.runDir, RUN_FILES.cfg)) as RunCfg;
          return entry.version === CACHE_VERSION && cfg.version === RUN_FORMAT_VERSION ? [{ uri: entry.uri, runDir: entry.runDir, createdAt: entry.createdAt, cfg }] : [];
        } catch {
          return [];
        }
      })
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Drops a document's cached runs. */
  forget(uri: string): void {
    fs.rmSync(this.docDir(uri), { recursive: true, force: true });
  }
}

/**
 * The JSON files of a run directory (the large safetensors stay on disk), or undefined when they
 * are missing, unreadable or of another format version.
 */
export function loadRunView(runDir: string): RunView | undefined {
  try {
    const view: RunView = {
      runDir,
      cfg: readJson(path.join(runDir, RUN_FILES.cfg)) as RunView['cfg'],
      tokens: readJson(path.join(runDir, RUN_FILES.tokens)) as RunView['tokens'],
      metrics: readJson(path.join(runDir, RUN_FILES.metrics)) as RunView['metrics'],
      analysis: readJson(path.join(runDir, ANALYSIS_FILE)) as RunView['analysis'],
    };
    const ok = [view.cfg, view.tokens, view.metrics].every((j) => j.version === RUN_FORMAT_VERSION) && view.analysis.version === ANALYSIS_VERSION;
    return ok && Array.isArray(view.tokens.tokens) ? view : undefined;
  } catch {
    return undefined;
  }
}
