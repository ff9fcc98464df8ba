/**
 * The editor side's state and its reactions: one DocState per document with a run, repainted on
 * every change; runs in progress (their progress line, and the edits made meanwhile, replayed onto
 * the result); the highlighted latent; the cache on disk; and the latent browser's host interface.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { currentSettings, restrictedNotice, settingsBase } from './settings/workspaceSettings';
import { CONTEXT, type ContextKey } from './commands/ids';
import { Decorator } from './decorations/decorator';
import { editDocState, newDocState, paintInput, type DocState, type PaintSettings } from './document/docState';
import { background } from './errors/report';
import { analysisSettings } from './settings/jobSettings';
import type { LatentBrowser, LatentBrowserHost } from './browser/api';
import type { BrowserState, LexiconChoice, RunView } from '../shared/protocol';
import { RunCache } from './runCache';
import type { CorpusRuns } from './corpus/corpusRuns';
import { runFacts } from '../shared/runFacts';
import type { Edit } from './document/spanShift';
import { RunStatusBar } from './status/statusBar';
import type { WorkerClient } from './worker/client';
import { UserError } from '../core/errors';

export interface Running {
  line: string;
  /** Edits made while the run was going on, one array per change event. */
  edits: Edit[][];
  /** The document was closed: the run is being cancelled and says nothing. */
  closed: boolean;
}

const CLOSE_SETTLE_MS = 200;

export function docName(uri: vscode.Uri): string {
  return uri.scheme === 'untitled' ? uri.path : path.basename(uri.path);
}

export class Lens implements vscode.Disposable, LatentBrowserHost {
  private readonly states = new Map<string, DocState>();
  private readonly running = new Map<string, Running>();
  private readonly decorator = new Decorator();
  private readonly statusBar = new RunStatusBar();
  private readonly subscriptions: vscode.Disposable[] = [];
  private browser?: LatentBrowser;
  /** The document the status bar and the browser follow: the active editor's, or the last one with a run. */
  private followed?: string;

  constructor(
    readonly client: WorkerClient,
    readonly cache: RunCache,
    readonly corpora: CorpusRuns,
    readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(
      this.decorator,
      this.statusBar,
      vscode.window.onDidChangeActiveTextEditor(() => this.refresh()),
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => this.paint(e))),
      vscode.workspace.onDidOpenTextDocument((d) => this.restore(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.workspace.onDidCloseTextDocument((d) => this.onClosed(d.uri.toString(), 'the document was closed')),
      vscode.window.tabGroups.onDidChangeTabs((e) => this.onTabsClosed(e.closed)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('latentLens')) return;
        const { problems } = currentSettings();
        if (problems.length) background(this.log, vscode.window.showWarningMessage(`Latent Lens: ${problems.join(' ')}`));
        if (e.affectsConfiguration('latentLens.labels') || e.affectsConfiguration('latentLens.tints')) this.paintAll();
      }),
    );
    for (const e of vscode.window.visibleTextEditors) this.restore(e.document);
    this.refresh();
  }

  attachBrowser(browser: LatentBrowser): void {
    this.browser = browser;
    this.subscriptions.push(browser);
    browser.update(this.browserState());
  }

  stateOf(uri: vscode.Uri | string): DocState | undefined {
    return this.states.get(uri.toString());
  }

  // ------------------------------------------------------------ runs

  /** Starts the bookkeeping of a run; pass the result to runProgress and runEnded. */
  runStarted(uri: string): Running {
    const r: Running = { line: 'starting', edits: [], closed: false };
    this.running.set(uri, r);
    this.refresh();
    return r;
  }

  runProgress(uri: string, r: Running, line: string): void {
    r.line = line;
    if (this.running.get(uri) === r && uri === this.activeUri()) this.refreshStatus();
  }

  /** Ends the bookkeeping of a run (a newer run of the same document keeps its own). */
  runEnded(uri: string, r: Running): void {
    if (this.running.get(uri) === r) this.running.delete(uri);
    this.refresh();
  }

  /** A run finished: show it, with the edits made during the run applied. */
  setRun(uri: string, view: RunView, r: Running): void {
    let s = newDocState(uri, view);
    for (const edits of r.edits) s = editDocState(s, edits);
    this.states.set(uri, s);
    this.followed = uri;
    this.paintDoc(uri);
    this.runEnded(uri, r);
  }

  /** A corpus run finished: every open document that is one of its files shows it (a document's own run stays). */
  showCorpusRun(): void {
    for (const doc of vscode.workspace.textDocuments) {
      if (this.states.get(doc.uri.toString())?.view.corpusFile) this.states.delete(doc.uri.toString());
      this.restore(doc);
    }
  }

  /** The document's own cached run, else the file's view of a corpus run that has this text. */
  private restore(doc: vscode.TextDocument): void {
    const uri = doc.uri.toString();
    if (this.states.has(uri) || doc.uri.scheme === 'output') return;
    const text = doc.getText();
    const hit = this.cache.lookup(uri, text) ?? this.corpora.lookup(text);
    if (!hit) return;
    try {
      this.states.set(uri, newDocState(uri, hit.view));
    } catch (e) {
      this.log.warn(`could not restore the cached run of ${docName(doc.uri)} (${(e as Error).message}); train again to see it`);
      return;
    }
    this.log.info(`restored the run of ${docName(doc.uri)} from ${hit.entry.runDir}`);
    this.paintDoc(uri);
    this.refresh();
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0) return;
    const uri = e.document.uri.toString();
    const edits = e.contentChanges.map((c) => ({ offset: c.rangeOffset, removed: c.rangeLength, inserted: c.text.length }));
    this.running.get(uri)?.edits.push(edits);
    const s = this.states.get(uri);
    if (!s) return;
    this.states.set(uri, editDocState(s, edits));
    this.paintDoc(uri);
    if (!s.stale) this.refresh();
  }

  /**
   * The document may have gone away: a run on it is cancelled quietly, and a closed document's state
   * is dropped (the cache restores it). Checked again after a moment, because VS Code also closes and
   * reopens a document when its language changes, and replaces tabs when a preview becomes pinned.
   */
  private onClosed(uri: string, why: 'the document was closed' | 'its last editor tab was closed'): void {
    setTimeout(() => {
      const stillOpen =
        why === 'the document was closed'
          ? vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri)
          : vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === uri));
      if (stillOpen) return;
      const r = this.running.get(uri);
      const jobId = this.client.jobFor(uri);
      if (r && jobId && !r.closed) {
        r.closed = true;
        this.log.info(`${why} during its run: cancelling job ${jobId}`);
        background(this.log, this.client.cancel(jobId));
      }
      if (why === 'the document was closed' && this.states.delete(uri)) this.refresh();
    }, CLOSE_SETTLE_MS);
  }

  private onTabsClosed(closed: readonly vscode.Tab[]): void {
    for (const t of closed) if (t.input instanceof vscode.TabInputText) this.onClosed(t.input.uri.toString(), 'its last editor tab was closed');
  }

  // ------------------------------------------------------------ painting and status

  private paintSettings(): PaintSettings {
    const { settings } = currentSettings();
    return { labels: { enabled: settings['labels.enabled'], threshold: settings['labels.threshold'] }, excludeAlwaysOn: settings['tints.excludeAlwaysOn'] };
  }

  private paint(editor: vscode.TextEditor): void {
    const s = this.states.get(editor.document.uri.toString());
    if (s) this.decorator.paint(editor, paintInput(s, this.paintSettings()));
    else this.decorator.clear(editor);
  }

  private paintDoc(uri: string): void {
    for (const e of vscode.window.visibleTextEditors) if (e.document.uri.toString() === uri) this.paint(e);
  }

  private paintAll(): void {
    for (const e of vscode.window.visibleTextEditors) this.paint(e);
  }

  private activeUri(): string | undefined {
    return vscode.window.activeTextEditor?.document.uri.toString();
  }

  private refreshStatus(): void {
    const uri = this.activeUri();
    const s = uri === undefined ? undefined : this.states.get(uri);
    this.statusBar.show({ running: uri === undefined ? undefined : this.running.get(uri)?.line, run: s?.view, stale: s?.stale ?? false, highlighted: s?.highlight?.latent });
  }

  /** Status bar, context keys and the browser, after anything changed. */
  private refresh(): void {
    const uri = this.activeUri();
    if (uri !== undefined && this.states.has(uri)) this.followed = uri;
    const s = uri === undefined ? undefined : this.states.get(uri);
    this.refreshStatus();
    this.setContext(CONTEXT.hasRun, this.followed !== undefined && this.states.has(this.followed));
    this.setContext(CONTEXT.running, uri !== undefined && this.running.has(uri));
    this.setContext(CONTEXT.highlighting, s?.highlight !== undefined);
    this.browser?.update(this.browserState());
  }

  private setContext(key: ContextKey, value: boolean): void {
    background(this.log, vscode.commands.executeCommand('setContext', key, value));
  }

  // ------------------------------------------------------------ latents (hover links, browser)

  /** The document a latent command acts on: the given one, else the followed one. */
  private target(uri?: string): DocState {
    const key = uri ?? this.followed;
    const s = key === undefined ? undefined : this.states.get(key);
    if (!s) throw new UserError('no document has a Latent Lens run yet. Run "Latent Lens: Train SAE on this file" first.', 'E_NO_RUN');
    return s;
  }

  private checkLatent(s: DocState, latent: number): void {
    const n = s.view.cfg.sae.d_sae;
    if (!Number.isInteger(latent) || latent < 0 || latent >= n) {
      throw new UserError(`there is no latent ${latent}: this run has ${n} latents, numbered 0 to ${n - 1}.`, 'E_LATENT');
    }
  }

  /** The latent on every token the view shows (a corpus run's file: that file's tokens). */
  private latentValues(view: RunView, latent: number): Promise<number[]> {
    const f = view.corpusFile;
    return this.client.activations({ runDir: view.runDir, latent, range: f && { first: f.first, tokens: f.tokens } });
  }

  async highlight(latent: number | null, uri?: string): Promise<void> {
    const s = this.target(uri);
    if (latent === null) {
      this.states.set(s.uri, { ...s, highlight: undefined });
    } else {
      this.checkLatent(s, latent);
      const values = await this.latentValues(s.view, latent);
      const now = this.states.get(s.uri);
      if (!now || now.view !== s.view) return; // retrained or closed meanwhile
      this.states.set(s.uri, { ...now, highlight: { latent, values } });
    }
    this.followed = s.uri;
    this.paintDoc(s.uri);
    this.refresh();
  }

  async reveal(latent: number, uri?: string): Promise<void> {
    await this.highlight(latent, uri);
    await this.browser?.reveal(latent);
  }

  async activations(latent: number): Promise<number[]> {
    const s = this.target();
    this.checkLatent(s, latent);
    if (s.highlight?.latent === latent) return s.highlight.values; // fetched a moment ago by highlight()
    return this.latentValues(s.view, latent);
  }

  async changeLexicon(lexicon: LexiconChoice): Promise<void> {
    const s = this.target();
    const analysis = { ...analysisSettings(currentSettings().settings, settingsBase()), lexicon };
    const report = await this.client.reanalyze({ runDir: s.view.runDir, analysis });
    const now = this.states.get(s.uri);
    if (!now || now.view.runDir !== s.view.runDir) return;
    const view = { ...now.view, analysis: report };
    this.states.set(s.uri, { ...now, view, facts: runFacts(view) });
    this.paintDoc(s.uri);
    this.refresh();
  }

  browserState(): BrowserState {
    const s = this.followed ? this.states.get(this.followed) : undefined;
    const notices = [restrictedNotice(), ...(s?.view.analysis.messages.filter((m) => m.code === 'random-weights').map((m) => m.text) ?? [])].filter((n): n is string => !!n);
    if (!s) return { highlighted: null, lexicon: analysisSettingsOrDefault(), notices };
    const lex = s.view.analysis.concept.lexicon;
    const lexicon: LexiconChoice = lex.source === 'built-in' && (lex.name === 'gazetteer' || lex.name === 'course') ? { kind: lex.name } : { kind: 'file', path: lex.source };
    return {
      doc: { uri: s.uri, name: docName(vscode.Uri.parse(s.uri)), stale: s.stale },
      run: s.view,
      highlighted: s.highlight?.latent ?? null,
      lexicon,
      notices,
    };
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
  }
}

function analysisSettingsOrDefault(): LexiconChoice {
  try {
    return analysisSettings(currentSettings().settings, settingsBase()).lexicon;
  } catch {
    return { kind: 'gazetteer' };
  }
}
