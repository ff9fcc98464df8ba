// Drives a real VS Code (code-server 4.100.3 = VS Code 1.100.3, installed by test/e2e/setup.sh) with
// the packaged extension installed, through Debian's Chromium and playwright-core.
// Recipe and its reasons: ../shared/notes/vscode-e2e-offline.md
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';

const projectRoot = path.resolve(__dirname, '../..');
const codeServerEntry = path.join(projectRoot, '.vscode-test/code-server/node_modules/code-server/out/node/entry.js');
const chromiumPath = '/usr/bin/chromium';
export const resultsDir = path.join(projectRoot, 'test-results');

const chromiumArgs = [
  '--no-sandbox', // root on CI
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Quiet, deterministic workbench: no welcome page, tips, update checks or recommendations. */
const defaultSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

/** The line src/extension.ts logs once the extension is active (its ACTIVATED). */
const ACTIVATED = 'Latent Lens activated';
/** How long a fresh code-server may take to start the extension host and activate the extension (its first start compiles caches). */
const ACTIVATION_TIMEOUT_MS = 120_000;

export interface LaunchOptions {
  /** The .vsix to install; default: the linux-x64 package `npm run package` builds. */
  vsix?: string;
  /** Merged over the defaults above into the user's settings.json. */
  settings?: Record<string, unknown>;
  /** Extra files for the workspace (a temp copy of samples/): relative path → content. */
  files?: Record<string, string | Buffer>;
  /** Environment of code-server (and so of the extension host and its workers); undefined removes a variable. */
  env?: Record<string, string | undefined>;
  /** Leave workspace trust on (VS Code asks whether to trust the folder); by default it is disabled. */
  workspaceTrust?: boolean;
}

/** The path of the linux-x64 .vsix that `npm run package` writes. */
export function packagedVsix(): string {
  const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  return path.join(projectRoot, `${manifest.name}-linux-x64-${manifest.version}.vsix`);
}

/** One code-server + Chromium session on a temp workspace. Always `close()` it (e.g. in `after`). */
export class VsCode {
  private closed = false;

  private constructor(
    readonly page: Page,
    /** Absolute path of the opened workspace folder (a temp copy of samples/). */
    readonly workspace: string,
    /** Temp folder holding workspace, user data, extensions and logs; removed by close(). */
    private readonly root: string,
    private readonly browser: Browser,
    private readonly server: ChildProcess,
    private readonly exitGuard: () => void,
  ) {}

  static async launch(options: LaunchOptions = {}): Promise<VsCode> {
    const vsix = options.vsix ?? packagedVsix();
    if (!existsSync(codeServerEntry)) throw new Error('code-server is not installed: run `bash test/e2e/setup.sh`.');
    if (!existsSync(vsix)) throw new Error(`${vsix} does not exist: run \`npm run package\`.`);
    if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: run \`bash test/e2e/setup.sh\`.`);

    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'latent-lens-e2e-'));
    const dirs = {
      workspace: path.join(root, 'workspace'),
      userData: path.join(root, 'user-data'),
      extensions: path.join(root, 'extensions'),
      xdg: path.join(root, 'xdg'), // config, logs and caches of code-server and Chromium, kept out of $HOME
    };
    await fs.cp(path.join(projectRoot, 'samples'), dirs.workspace, { recursive: true });
    for (const [rel, content] of Object.entries(options.files ?? {})) {
      await fs.mkdir(path.dirname(path.join(dirs.workspace, rel)), { recursive: true });
      await fs.writeFile(path.join(dirs.workspace, rel), content);
    }
    await fs.mkdir(path.join(dirs.userData, 'User'), { recursive: true });
    await fs.writeFile(
      path.join(dirs.userData, 'User/settings.json'),
      JSON.stringify({ ...defaultSettings, ...options.settings }, null, 2),
    );
    // Without an extensions.json holding [], --install-extension fails.
    await fs.mkdir(dirs.extensions, { recursive: true });
    await fs.writeFile(path.join(dirs.extensions, 'extensions.json'), '[]');
    await fs.mkdir(resultsDir, { recursive: true });

    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, XDG_CONFIG_HOME: dirs.xdg, XDG_DATA_HOME: dirs.xdg, XDG_CACHE_HOME: dirs.xdg };
    for (const [name, value] of Object.entries(options.env ?? {})) if (value === undefined) delete env[name];
    const common = ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
    await run(process.execPath, [codeServerEntry, ...common, '--install-extension', vsix, '--force'], env);

    const port = await freePort();
    const log = createWriteStream(path.join(resultsDir, 'code-server.log'));
    // Its own process group, so close() ends the server, extension host and their workers at once.
    const server = spawn(
      process.execPath,
      [
        codeServerEntry,
        ...common,
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${port}`,
        '--disable-telemetry',
        '--disable-update-check',
        ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
        '--ignore-last-opened',
        dirs.workspace,
      ],
      { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout?.pipe(log);
    server.stderr?.pipe(log);
    // Should this process end without close() (a crash, Ctrl+C), no code-server is left behind.
    const exitGuard = (): void => killGroup(server, 'SIGKILL');
    process.once('exit', exitGuard);

    let browser: Browser | undefined;
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHealthy(url, server, 30_000);
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, env });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`${url}/?folder=${encodeURIComponent(dirs.workspace)}`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      // The Explorer lists the workspace once the file service and the tree are up.
      await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
      const vs = new VsCode(page, dirs.workspace, root, browser, server, exitGuard);
      await vs.extensionActive(0);
      return vs;
    } catch (err) {
      await browser?.close().catch(() => undefined);
      await stopServer(server);
      process.removeListener('exit', exitGuard);
      await fs.rm(root, { recursive: true, force: true });
      throw err;
    }
  }

  /** The text of every log file of the extension (`Latent Lens.log`, one per extension host the window had). */
  extensionLog(): string {
    const logs = path.join(this.root, 'user-data/logs');
    const texts: string[] = [];
    const walk = (dir: string): void => {
      if (!existsSync(dir)) return;
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name === 'Latent Lens.log') texts.push(readFileSync(p, 'utf8'));
      }
    };
    walk(logs);
    return texts.join('\n');
  }

  /** How many lines of the extension's log match `pattern`. */
  logCount(pattern: RegExp): number {
    return this.extensionLog().split('\n').filter((l) => pattern.test(l)).length;
  }

  /**
   * Waits until the extension has been activated more than `before` times (0: the first activation;
   * after a window reload, the count before it) and returns the count: its commands, hover and
   * browser are registered then, whatever the machine's speed.
   */
  async extensionActive(before: number): Promise<number> {
    const deadline = Date.now() + ACTIVATION_TIMEOUT_MS;
    for (;;) {
      const n = this.logCount(new RegExp(ACTIVATED));
      if (n > before) return n;
      if (Date.now() > deadline) throw new Error(`the extension did not log "${ACTIVATED}" within ${ACTIVATION_TIMEOUT_MS / 1000} s; see test-results/vscode-logs`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Reloads the window and waits for the extension to be active in the new one. */
  async reload(): Promise<void> {
    const before = this.logCount(new RegExp(ACTIVATED));
    await this.page.reload();
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await this.extensionActive(before);
  }

  /** VS Code's user data folder (settings, workspace storage, logs). */
  get userDataDir(): string {
    return path.join(this.root, 'user-data');
  }

  /** Rewrites the user's settings.json: the quiet defaults above plus `settings`. */
  async writeUserSettings(settings: Record<string, unknown>): Promise<void> {
    await fs.writeFile(path.join(this.root, 'user-data/User/settings.json'), JSON.stringify({ ...defaultSettings, ...settings }, null, 2));
  }

  /** The user's settings.json as it is now (the extension may have changed it). */
  async userSettings(): Promise<Record<string, unknown>> {
    return JSON.parse(await fs.readFile(path.join(this.root, 'user-data/User/settings.json'), 'utf8')) as Record<string, unknown>;
  }

  /** The folder extensions are installed into (the extension's files are under `<publisher>.<name>-<version>/`). */
  get extensionsDir(): string {
    return path.join(this.root, 'extensions');
  }

  /** The Explorer row of a top-level workspace entry. */
  explorerRow(name: string): Locator {
    return this.page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`);
  }

  /** Opens a top-level workspace file from the Explorer and waits until its editor is active. */
  async openFile(name: string): Promise<void> {
    await this.explorerRow(name).dblclick(); // a double click pins the editor (no preview tab)
    await this.page.locator(`.tabs-container .tab.active[data-resource-name="${name}"]`).waitFor();
    await this.page.locator('.editor-group-container.active .monaco-editor .view-lines').waitFor();
  }

  /**
   * Runs a command by its palette title (e.g. "Latent Lens: Train SAE on this file"). The palette's
   * input is set with fill() and read back, not typed: keystrokes sent while the palette is still
   * opening (a cold first start) can be lost. If the list does not show the command, the palette is
   * closed and opened again; a cold window may need long for its first list.
   */
  async runCommand(title: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const input = widget.locator('.quick-input-box input');
    const row = widget.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    const value = `>${title}`;
    for (let attempt = 1; ; attempt++) {
      try {
        // An F1 pressed while focus moves (a tab was just clicked, a panel opened) is sometimes lost: press again.
        await this.page.keyboard.press('F1');
        await input.waitFor({ timeout: 10_000 });
        await input.fill(value);
        const shown = await input.inputValue();
        if (shown !== value) throw new Error(`the palette's input holds "${shown}", not "${value}"`);
        // Enter only once the filtered list shows the command, else it may run the previous first row.
        await row.waitFor({ timeout: attempt === 1 ? 30_000 : 15_000 });
        break;
      } catch (err) {
        if (attempt === 4) throw new Error(`the command palette did not offer "${title}" (4 attempts): ${String(err)}`);
        await this.page.keyboard.press('Escape');
        await widget.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
      }
    }
    // Enter runs the focused row: the command's, unless a better-matching command came first.
    const focused = widget.locator('.quick-input-list .monaco-list-row.focused', { hasText: title });
    if (await focused.count()) await this.page.keyboard.press('Enter');
    else await row.click();
    await widget.waitFor({ state: 'hidden' });
  }

  /** A notification toast whose text contains `text`. */
  notification(text: string | RegExp): Locator {
    return this.page.locator('.notification-toast', { hasText: text });
  }

  /** The rendered spans of the active editor that contain `text`. */
  editorText(text: string | RegExp): Locator {
    return this.page.locator('.editor-group-container.active .monaco-editor .view-line span span', { hasText: text });
  }

  /**
   * Points the mouse at the nth occurrence (in reading order) of `text` on the active editor's visible
   * lines and returns the text of the hover that appears (after `editor.hover.delay`, 300 ms by default).
   */
  async hoverText(text: string, nth = 0): Promise<string> {
    const hover = this.page.locator('.monaco-editor .monaco-resizable-hover .monaco-hover:not(.hidden)');
    // A hover asked for too soon after the editor opened never shows, even if the mouse stays: leave
    // the editor and come back until one does. Leaving also hides a previous hover, so its text is
    // never read instead. Leave to the status bar, not to (0, 0): after the mouse rested at the
    // window's corner, no editor hover showed at all. The text is located anew each time because a
    // freshly opened editor lays its lines out again (word wrap).
    const statusBar = await this.page.locator('.part.statusbar').boundingBox();
    if (!statusBar) throw new Error('the status bar is not visible');
    const deadline = Date.now() + 15_000;
    for (;;) {
      await this.page.mouse.move(statusBar.x + statusBar.width / 2, statusBar.y + statusBar.height / 2);
      await hover.waitFor({ state: 'hidden' });
      const point = await this.page.evaluate(textCenter, { text, nth });
      if (!point) throw new Error(`"${text}" (occurrence ${nth}) is not on a visible line of the active editor`);
      await this.page.mouse.move(point.x, point.y);
      try {
        await hover.waitFor({ timeout: 1_000 });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
    return hover.innerText();
  }

  /**
   * The content of a webview (panel or view) of an extension. VS Code 1.100 hosts every webview in
   * an outer `iframe.webview` whose src names the extension, and the extension's HTML in the inner
   * `iframe#active-frame`.
   */
  webview(extensionId = 'latent-lens.latent-lens'): FrameLocator {
    return this.page
      .frameLocator(`iframe.webview.ready[src*="extensionId=${extensionId}"]`)
      .frameLocator('iframe#active-frame');
  }

  /** Saves a PNG of the whole window (or of the `clip` rectangle, in CSS pixels) as test-results/<name>.png and returns its path. */
  async screenshot(name: string, clip?: { x: number; y: number; width: number; height: number }): Promise<string> {
    const file = path.join(resultsDir, `${name}.png`);
    await this.page.screenshot({ path: file, clip });
    return file;
  }

  /** Closes Chromium, ends code-server's whole process group, keeps VS Code's logs and removes the temp folder. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.browser.close().catch(() => undefined);
    await stopServer(this.server);
    process.removeListener('exit', this.exitGuard);
    const logs = path.join(this.root, 'user-data/logs');
    if (existsSync(logs)) {
      await fs.rm(path.join(resultsDir, 'vscode-logs'), { recursive: true, force: true });
      await fs.cp(logs, path.join(resultsDir, 'vscode-logs'), { recursive: true });
    }
    await fs.rm(this.root, { recursive: true, force: true });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

/** SIGTERM to the group, SIGKILL after 5 s; resolves once the group leader has exited. */
async function stopServer(server: ChildProcess): Promise<void> {
  const exited =
    server.exitCode !== null || server.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => server.once('exit', () => resolve()));
  killGroup(server, 'SIGTERM');
  const timer = setTimeout(() => killGroup(server, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  killGroup(server, 'SIGKILL'); // children that outlived the leader
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(args[0] ?? command)} ${args.slice(1).join(' ')} failed (${code}):\n${output}`)),
    );
  });
}

/** A TCP port that was free a moment ago (nothing listens on it once this resolves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealthy(url: string, server: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`code-server exited (${server.exitCode}); see test-results/code-server.log`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not answer within ${timeoutMs / 1000} s; see test-results/code-server.log`);
}

/** Runs in the page: the viewport centre of the nth occurrence of `text` in the active editor's view lines. */
function textCenter({ text, nth }: { text: string; nth: number }): { x: number; y: number } | null {
  const lines = document.querySelector('.editor-group-container.active .monaco-editor .view-lines');
  if (!lines) return null;
  const hits: DOMRect[] = [];
  const walker = document.createTreeWalker(lines, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const content = (node.textContent ?? '').replace(/\u00a0/g, ' '); // VS Code renders spaces as nbsp
    for (let i = content.indexOf(text); i >= 0; i = content.indexOf(text, i + 1)) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + text.length);
      hits.push(range.getBoundingClientRect());
    }
  }
  hits.sort((a, b) => a.top - b.top || a.left - b.left);
  const hit = hits[nth];
  return hit ? { x: hit.left + hit.width / 2, y: hit.top + hit.height / 2 } : null;
}
