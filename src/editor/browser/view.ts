/**
 * The latent browser: a webview view (latentLens.browser) in the Latent Lens activity-bar container.
 * This side only carries messages: the page (webview/, bundled to dist/webview.js) renders the state
 * the Lens pushes, and its requests go to the LatentBrowserHost. The page says `ready` before the
 * first post; the view is retained while hidden and gets the state again whenever it is shown.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { browserHtml } from './html';
import { customLexiconText, parseWebviewMessage } from './messages';
import { COMMANDS } from '../commands/ids';
import { background, reportError } from '../errors/report';
import type { LatentBrowser, LatentBrowserHost } from './api';
import type { Lens } from '../lens';
import type { BrowserState, HostToWebview, LexiconChoice, WebviewToHost } from '../../shared/protocol';

export const BROWSER_VIEW_ID = 'latentLens.browser';

const LEXICON_WORDS: Record<LexiconChoice['kind'], string> = {
  gazetteer: 'the gazetteer (countries, demonyms, regions)',
  course: "the course lab's 13 words",
  file: 'the word list file',
};

class LatentBrowserView implements LatentBrowser, vscode.WebviewViewProvider {
  private view?: vscode.WebviewView;
  private viewSubscriptions: vscode.Disposable[] = [];
  /** The page has said `ready`: posts reach its listener. */
  private ready = false;
  /** The latest state from the Lens (attachBrowser posts one at once). */
  private state?: BrowserState;
  /** A latent to reveal once the page is ready (the view was created by the reveal). */
  private pendingReveal?: number;

  constructor(
    private readonly extensionUri: vscode.Uri,
    /** Where the custom word list is written (the workspace's storage, else the global one). */
    private readonly storage: vscode.Uri,
    private readonly host: LatentBrowserHost,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.dropView();
    this.view = view;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist, vscode.Uri.joinPath(this.extensionUri, 'media')] };
    const uri = (file: string) => view.webview.asWebviewUri(vscode.Uri.joinPath(dist, file)).toString();
    view.webview.html = browserHtml({
      cspSource: view.webview.cspSource,
      nonce: randomBytes(18).toString('base64'),
      script: uri('webview.js'),
      chartScript: uri('chart.umd.js'),
      style: uri('webview.css'),
      codicons: uri('codicon.css'),
    });
    this.viewSubscriptions = [
      view.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      view.onDidChangeVisibility(() => view.visible && this.postState()),
      view.onDidDispose(() => this.view === view && this.dropView()),
    ];
  }

  async reveal(latent: number): Promise<void> {
    this.pendingReveal = latent;
    await vscode.commands.executeCommand(`${BROWSER_VIEW_ID}.focus`);
    if (this.ready) {
      this.pendingReveal = undefined;
      await this.showLatent(latent);
    }
  }

  update(state: BrowserState): void {
    this.state = state;
    this.postState();
  }

  dispose(): void {
    this.dropView();
  }

  private dropView(): void {
    for (const d of this.viewSubscriptions) d.dispose();
    this.viewSubscriptions = [];
    this.view = undefined;
    this.ready = false;
  }

  private post(m: HostToWebview): void {
    if (this.view && this.ready) background(this.log, this.view.webview.postMessage(m));
  }

  private postState(): void {
    this.post({ type: 'state', state: (this.state ??= this.host.browserState()) });
  }

  private async showLatent(latent: number): Promise<void> {
    this.post({ type: 'revealLatent', latent });
    await this.sendDetail(latent);
  }

  private async sendDetail(latent: number): Promise<void> {
    const activations = await this.host.activations(latent);
    this.post({ type: 'latentDetail', latent, activations });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = parseWebviewMessage(raw);
    if (!m) {
      this.log.warn(`latent browser: ignored a malformed message ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    try {
      await this.handle(m);
    } catch (e) {
      this.post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
      await reportError(e, this.log);
    }
  }

  private async handle(m: WebviewToHost): Promise<void> {
    switch (m.type) {
      case 'ready': {
        this.ready = true;
        this.postState();
        const latent = this.pendingReveal;
        this.pendingReveal = undefined;
        if (latent !== undefined) await this.showLatent(latent);
        return;
      }
      case 'selectLatent':
        // In turn, so the detail reuses the values the highlight just fetched from the worker.
        await this.host.highlight(m.latent);
        await this.sendDetail(m.latent);
        return;
      case 'loadDetail':
        return this.sendDetail(m.latent);
      case 'highlightLatent':
        return this.host.highlight(m.latent);
      case 'changeLexicon':
        return this.reanalyse(`Re-analysing with ${LEXICON_WORDS[m.lexicon.kind]}…`, m.lexicon);
      case 'customLexicon': {
        const text = customLexiconText(m.terms);
        const file = path.join(this.storage.fsPath, 'lexicons', 'custom.json');
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, text);
        return this.reanalyse('Re-analysing with your word list…', { kind: 'file', path: file });
      }
      case 'train':
        await vscode.commands.executeCommand(COMMANDS.trainOnFile);
        return;
      case 'latentEvidence':
        return this.host.latentEvidence(m.latent);
      case 'checkStability':
        return this.host.checkStability();
      case 'cancelWork':
        return this.host.cancelFollowedWork(m.work);
    }
  }

  private async reanalyse(message: string, lexicon: LexiconChoice): Promise<void> {
    this.post({ type: 'busy', message });
    try {
      await this.host.changeLexicon(lexicon);
    } finally {
      this.post({ type: 'busy', message: null });
    }
  }
}

/** Registers the view's provider and connects it to the Lens; dispose the result on deactivation. */
export function registerLatentBrowser(context: vscode.ExtensionContext, lens: Lens): vscode.Disposable {
  const browser = new LatentBrowserView(context.extensionUri, context.storageUri ?? context.globalStorageUri, lens, lens.log);
  const registration = vscode.window.registerWebviewViewProvider(BROWSER_VIEW_ID, browser, { webviewOptions: { retainContextWhenHidden: true } });
  lens.attachBrowser(browser);
  return registration;
}
