/**
 * The editor side's state and its reactions: one DocState per document with a run, repainted on
 * every change; runs in progress (their progress line, and the edits made meanwhile, replayed onto
 * the result); the work that follows a run in the worker (its causal evidence, one latent's evidence,
 * seed stability); the highlighted latent; a document's layer scan (its layer view, switching layers);
 * the cache on disk; and the latent browser's host interface.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { currentSettings, restrictedNotice, settingsBase } from './settings/workspaceSettings';
import { CONTEXT, type ContextKey } from './commands/ids';
import { Decorator } from './decorations/decorator';
import { editDocState, newDocState, paintInput, settle, withView, type DocState, type PaintSettings } from './document/docState';
import { background, reportError } from './errors/report';
import { analysisSettings } from './settings/jobSettings';
import type { LatentBrowser, LatentBrowserHost } from './browser/api';
import type { BrowserState, LexiconChoice, ProgressEvent, RunView, RunWork } from '../shared/protocol';
import { RunCache } from './runCache';
import type { CorpusRuns } from './corpus/corpusRuns';
import { withAnalysis } from '../shared/corpusView';
import type { Edit } from './document/spanShift';
import { RunStatusBar } from './status/statusBar';
import { progressLine } from './status/progressText';
import { JobFailure, type StartedJob, type WorkerClient } from './worker/client';
import { UserError } from '../core/errors';
import { NO_WORK, STABILITY_SEEDS } from '../shared/work';
import { layerView } from '../shared/scanView';
import { docScanOf, type DocScan } from './scan/docScan';

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

/** The worker's job key of a kind of work on a document (one job per key: a new one cancels the old). */
const workKey = (work: keyof RunWork, uri: string) => `${work}:${uri}`;

export class Lens implements vscode.Disposable, LatentBrowserHost {
  private readonly states = new Map<string, DocState>();
  private readonly running = new Map<string, Running>();
  /** Documents whose run is a layer of a scan: that scan. */
  private readonly scans = new Map<string, DocScan>();
  private readonly decorator = new Decorator();
  private readonly statusBar = new RunStatusBar();
  private readonly subscriptions: vscode.Disposable[] = [];
  private browser?: LatentBrowser;
  /** The document the status bar and the browser follow: the active editor's, or the last one with a run. */
  private followed?: string;
  /** The user chose the random-weights stand-in for this window, for when GPT-2 Small cannot be downloaded. */
  standIn = false;

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
        this.log.info('settings changed');
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

  /** A run finished: show it, with the edits made during the run applied; then compute its evidence. `text`: the document's text it was made on. */
  setRun(uri: string, view: RunView, r: Running, text: string): void {
    let s = newDocState(uri, view, text);
    for (const edits of r.edits) s = editDocState(s, edits);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    this.states.set(uri, doc ? settle(s, doc.getText()) : s);
    this.followed = uri;
    this.trackScan(uri, view.runDir);
    this.paintDoc(uri);
    this.runEnded(uri, r);
    if (view.analysis.evidence === undefined) this.startEvidence(uri); // a scan's layers come with theirs
  }

  /** Remembers the scan the document's run is a layer of, or forgets the document's scan when it is none. */
  private trackScan(uri: string, runDir: string): void {
    const scan = docScanOf(runDir);
    if (scan) this.scans.set(uri, scan);
    else this.scans.delete(uri);
  }

  /** The scan the document's run is a layer of. */
  scanOf(uri: string): DocScan | undefined {
    return this.scans.get(uri);
  }

  /** The browser's layer view: shows that layer's run of the followed document's scan (tints, hover, lists). */
  async showLayer(layer: number): Promise<void> {
    const s = this.target();
    const scan = this.scans.get(s.uri);
    const l = scan?.layers.find((x) => x.layer === layer);
    if (!scan || !l) throw new UserError(`layer ${layer} is not a done layer of this document's scan; run "Latent Lens: Scan all layers of this file" to make it.`, 'E_USAGE');
    if (s.view.runDir === l.view.runDir) return;
    await this.stopWork(s.uri);
    this.states.set(s.uri, { ...withView(s, l.view), highlight: undefined, stability: undefined, work: NO_WORK });
    this.log.info(`showing layer ${layer} of the scan ${scan.scanDir}`);
    this.paintDoc(s.uri);
    this.refresh();
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
      this.states.set(uri, newDocState(uri, hit.view, text));
    } catch (e) {
      this.log.warn(`could not restore the cached run of ${docName(doc.uri)} (${(e as Error).message}); train again to see it`);
      return;
    }
    this.log.info(`restored the run of ${docName(doc.uri)} from ${hit.entry.runDir}`);
    this.trackScan(uri, hit.view.runDir);
    this.paintDoc(uri);
    this.refresh();
    if (hit.view.analysis.evidence === undefined) this.startEvidence(uri); // the window went away while it was computed
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0) return;
    const uri = e.document.uri.toString();
    const edits = e.contentChanges.map((c) => ({ offset: c.rangeOffset, removed: c.rangeLength, inserted: c.text.length }));
    this.running.get(uri)?.edits.push(edits);
    const s = this.states.get(uri);
    if (!s) return;
    const next = settle(editDocState(s, edits), e.document.getText());
    this.states.set(uri, next);
    this.paintDoc(uri);
    if (next.stale !== s.stale) this.refresh();
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
      if (why === 'the document was closed') {
        this.cancelWork(uri, 'latentEvidence', 'stability');
        this.scans.delete(uri);
        if (this.states.delete(uri)) this.refresh();
      }
    }, CLOSE_SETTLE_MS);
  }

  private onTabsClosed(closed: readonly vscode.Tab[]): void {
    for (const t of closed) if (t.input instanceof vscode.TabInputText) this.onClosed(t.input.uri.toString(), 'its last editor tab was closed');
  }

  // ------------------------------------------------------------ work after a run: evidence, stability

  /** Updates a document's state if it still shows the run of `runDir` (not retrained or closed meanwhile). */
  private updateRun(uri: string, runDir: string, change: (s: DocState) => DocState): boolean {
    const s = this.states.get(uri);
    if (!s || s.view.runDir !== runDir) return false;
    this.states.set(uri, change(s));
    this.refresh();
    return true;
  }

  private setWork(uri: string, runDir: string, work: Partial<RunWork>): void {
    this.updateRun(uri, runDir, (s) => ({ ...s, work: { ...s.work, ...work } }));
  }

  /**
   * Runs a job of `kind` on a document's run in the worker: its progress shows as the work's line
   * (`line` turns an event into it), its result goes to `done`. A cancel ends it quietly; evidence
   * cut short by a worker stopped for another job's cancel starts again; any other failure is logged
   * and reported. Returns when the job has ended.
   */
  private async work<R>(
    uri: string,
    kind: keyof RunWork,
    start: (key: string, runDir: string, onProgress: (p: ProgressEvent) => void) => Promise<StartedJob<R>>,
    line: (text: string) => RunWork[keyof RunWork],
    done: (s: DocState, result: R) => DocState,
  ): Promise<void> {
    const s = this.states.get(uri);
    if (!s) return;
    const { runDir } = s.view;
    this.setWork(uri, runDir, { [kind]: line('starting…') });
    this.log.info(`${kind} of ${runDir} started`);
    const t0 = Date.now();
    let interrupted = false;
    try {
      const job = await start(workKey(kind, uri), runDir, (p) => this.setWork(uri, runDir, { [kind]: line(progressLine(p)) }));
      const result = await job.done;
      this.log.info(`${kind} of ${runDir} done after ${Date.now() - t0} ms`);
      this.updateRun(uri, runDir, (now) => done(now, result));
    } catch (e) {
      if (e instanceof JobFailure && e.kind === 'cancelled') {
        this.log.info(`${kind} of ${runDir} cancelled`);
      } else if (e instanceof JobFailure && e.code === 'E_WORKER_STOPPED' && kind === 'evidence') {
        // The worker was stopped to end another job's cancel; nobody asked this work to stop.
        this.log.info(`${kind} of ${runDir} interrupted by a worker stop: starting it again`);
        interrupted = true;
      } else {
        this.log.info(`${kind} of ${runDir} failed`);
        await reportError(e, this.log);
      }
    } finally {
      this.setWork(uri, runDir, { [kind]: null });
    }
    if (interrupted && this.states.get(uri)?.view.runDir === runDir) this.startEvidence(uri);
  }

  private threads(): number | undefined {
    const t = currentSettings().settings.threads;
    return t === 0 ? undefined : t;
  }

  /** The causal evidence of a document's run (its lists' top latents), after the tints are shown. */
  private startEvidence(uri: string): void {
    background(
      this.log,
      this.work(
        uri,
        'evidence',
        (key, runDir, p) => this.client.evidence(key, { runDir, threads: this.threads() }, p),
        (text) => text,
        (s, analysis) => withView(s, withAnalysis(s.view, analysis)),
      ),
    );
  }

  /** One more latent's causal evidence, for the followed run (its evidence must be there). */
  async latentEvidence(latent: number): Promise<void> {
    const s = this.target();
    this.checkLatent(s, latent);
    const e = s.view.analysis.evidence;
    if (!e) throw new UserError('the causal evidence of this run is still being computed; ask again once it is there.', 'E_USAGE');
    if ('unavailable' in e) throw new UserError(`this run has no causal evidence: ${e.unavailable}`, 'E_MODEL');
    await this.work(
      s.uri,
      'latentEvidence',
      (key, runDir, p) => this.client.latentEvidence(key, { runDir, latent, threads: this.threads() }, p),
      (text) => ({ latent, line: text }),
      (now, found) => {
        const ev = now.view.analysis.evidence;
        if (!ev || !('latents' in ev) || ev.latents.some((l) => l.latent === latent)) return now;
        return withView(now, { ...now.view, analysis: { ...now.view.analysis, evidence: { ...ev, latents: [...ev.latents, found] } } });
      },
    );
  }

  /** "Check stability": STABILITY_SEEDS − 1 more SAEs trained like the followed run's, compared with it. */
  async checkStability(): Promise<void> {
    const s = this.target();
    const analysis = { ...analysisSettings(currentSettings().settings, settingsBase()), lexicon: this.lexiconOf(s.view) };
    const engine = currentSettings().settings.engine;
    await this.work(
      s.uri,
      'stability',
      (key, runDir, p) => this.client.stability(key, { runDir, seeds: STABILITY_SEEDS, analysis, engine, threads: this.threads() }, p),
      (text) => text,
      (now, stability) => ({ ...now, stability }),
    );
  }

  /** Stops work of these kinds on a document (all kinds by default), if any is going on; resolves once it has stopped. */
  async stopWork(uri: string, ...kinds: (keyof RunWork)[]): Promise<void> {
    const all: (keyof RunWork)[] = ['evidence', 'latentEvidence', 'stability'];
    const jobs = (kinds.length ? kinds : all).map((k) => this.client.jobFor(workKey(k, uri))).filter((id): id is string => id !== undefined);
    await Promise.all(jobs.map((id) => this.client.cancel(id, { keepWorker: true })));
  }

  private cancelWork(uri: string, ...kinds: (keyof RunWork)[]): void {
    background(this.log, this.stopWork(uri, ...kinds));
  }

  /** The browser's "stop" on the followed run's work. */
  cancelFollowedWork(kind: keyof RunWork): void {
    if (this.followed) this.cancelWork(this.followed, kind);
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
    this.statusBar.show({ running: uri === undefined ? undefined : this.running.get(uri)?.line, run: s?.view, stale: s?.stale ?? false, highlighted: s?.highlight?.latent, evidence: s?.work.evidence ?? null });
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
      if (!now || now.view.runDir !== s.view.runDir) return; // retrained or closed meanwhile
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

  /** Re-analyses the followed run with another lexicon; its lists change, so its evidence is computed again. */
  async changeLexicon(lexicon: LexiconChoice): Promise<void> {
    const s = this.target();
    await this.stopWork(s.uri, 'evidence', 'latentEvidence', 'stability');
    const analysis = { ...analysisSettings(currentSettings().settings, settingsBase()), lexicon };
    const report = await this.client.reanalyze({ runDir: s.view.runDir, analysis });
    if (!this.updateRun(s.uri, s.view.runDir, (now) => ({ ...withView(now, withAnalysis(now.view, report)), stability: undefined }))) return;
    this.paintDoc(s.uri);
    this.startEvidence(s.uri);
  }

  private lexiconOf(view: RunView): LexiconChoice {
    const lex = view.analysis.concept.lexicon;
    return lex.source === 'built-in' && (lex.name === 'gazetteer' || lex.name === 'course') ? { kind: lex.name } : { kind: 'file', path: lex.source };
  }

  browserState(): BrowserState {
    const s = this.followed ? this.states.get(this.followed) : undefined;
    const notices = [restrictedNotice(), ...(s?.view.analysis.messages.filter((m) => m.code === 'random-weights').map((m) => m.text) ?? [])].filter((n): n is string => !!n);
    if (!s) return { highlighted: null, lexicon: analysisSettingsOrDefault(), notices, work: NO_WORK };
    const scan = this.scans.get(s.uri);
    return {
      doc: { uri: s.uri, name: docName(vscode.Uri.parse(s.uri)), stale: s.stale },
      run: s.view,
      highlighted: s.highlight?.latent ?? null,
      lexicon: this.lexiconOf(s.view),
      notices,
      work: s.work,
      stability: s.stability,
      scan: scan && layerView(scan.scanDir, scan.scan, s.view.runDir),
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
