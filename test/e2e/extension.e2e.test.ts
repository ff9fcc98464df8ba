// End-to-end: the packaged extension inside a real VS Code (see harness.ts). Run by scripts/test-e2e.sh.
// Two code-server sessions: a trusted workspace that goes through the whole flow and every bad input,
// and an untrusted one (Restricted Mode). Runs use a tiny random-weight GPT-2 and a small SAE, so a
// run takes about a second; the runs that must still be going when something happens to them (cancel,
// close, reload, kill) get 100000 epochs through the workspace's settings.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { makeTestModel } from '../../src/core/model/testModel';
import { freePort, resultsDir, VsCode } from './harness';

const projectRoot = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
  name: string;
  publisher: string;
  version: string;
  contributes: { colors: { id: string; defaults: Record<string, string> }[]; views?: Record<string, { id: string; name: string }[]> };
};

const TRAIN = 'Latent Lens: Train SAE on this file';
const STATUS = '[id="latent-lens.latent-lens.latentLens.status"]';
const TOKENS_STATUS = /Latent Lens: \d+ tokens/;
/** Long enough to still be training when the test acts on the run (all such runs are stopped). */
const LONG_EPOCHS = 100000;
const LONG_RUN = { 'latentLens.epochs': LONG_EPOCHS };
const EPOCH_PROGRESS = new RegExp(`epoch \\d+/${LONG_EPOCHS}`);

/** Markup and links that must stay text in the hover and the latent browser. */
const HOSTILE_LINES = [
  'Budapest notes <script>alert(1)</script> and <img src=x onerror=alert(1)> about Hungary.',
  'A markdown link [click here](https://example.com/x) stays text,',
  'and so does a command link [run it](command:workbench.action.closeAllEditors).',
];

let tmp: string;
let modelDir: string;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-e2e-data-'));
  modelDir = path.join(tmp, 'model');
  makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** User settings of every session: the test model and a small, quick SAE. */
function quickSettings(): Record<string, unknown> {
  return {
    'latentLens.model.source': 'localDirectory',
    'latentLens.model.directory': modelDir,
    'latentLens.latents': '256',
    'latentLens.k': '8',
    'latentLens.epochs': 30,
  };
}

// ------------------------------------------------------------------ helpers

/** Polls `check` until it returns something other than undefined/false. */
async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Decoration colour (r,g,b of every theme's default) → the tint hue package.json contributes it for. */
function hueByColor(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of manifest.contributes.colors) {
    const hue = /^latentLens\.(\w+)Tint\d$/.exec(c.id)?.[1];
    if (!hue) continue;
    for (const hex of Object.values(c.defaults)) {
      out[[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(',')] = hue;
    }
  }
  return out;
}

/**
 * Runs in the page: how many tint rectangles of each hue the active editor shows. A decoration type
 * with a background colour renders as `.cdr.ced-…-TextEditorDecorationTypeN-0` boxes in the editor's
 * `.view-overlays` layer (behind the text, not as spans in `.view-line`), one per range and line.
 */
function countTints(hues: Record<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  const boxes = document.querySelectorAll('.editor-group-container.active .monaco-editor .view-overlays .cdr[class*="TextEditorDecorationType"]');
  for (const el of Array.from(boxes)) {
    const m = /rgba?\((\d+), (\d+), (\d+)/.exec(getComputedStyle(el).backgroundColor);
    const hue = m ? hues[`${m[1]},${m[2]},${m[3]}`] : undefined;
    if (hue) counts[hue] = (counts[hue] ?? 0) + 1;
  }
  return counts;
}

async function tints(vs: VsCode): Promise<{ latent: number; highlight: number; byHue: Record<string, number> }> {
  const byHue = await vs.page.evaluate(countTints, hueByColor());
  const highlight = byHue.highlight ?? 0;
  const latent = (byHue.geography ?? 0) + (byHue.punctuation ?? 0) + (byHue.other ?? 0);
  return { latent, highlight, byHue };
}

function statusItem(vs: VsCode): Locator {
  return vs.page.locator(STATUS);
}

async function statusText(vs: VsCode): Promise<string> {
  const item = statusItem(vs);
  return (await item.count()) && (await item.isVisible()) ? (await item.innerText()).trim() : '';
}

/** pids of worker processes (dist/worker.js) of the extension installed in this session. */
function workerPids(vs: VsCode): number[] {
  const worker = path.join(vs.extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`, 'dist', 'worker.js');
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(worker))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/** Shows the Explorer if another view (the latent browser) took its place in the side bar. */
async function showExplorer(vs: VsCode, name: string): Promise<void> {
  if (!(await vs.explorerRow(name).isVisible())) await vs.runCommand('View: Show Explorer');
}

async function openFile(vs: VsCode, name: string): Promise<void> {
  await showExplorer(vs, name);
  await vs.openFile(name);
}

/** Writes the workspace's .vscode/settings.json and gives VS Code a moment to notice the change. */
async function setWorkspaceSettings(vs: VsCode, settings: Record<string, unknown>): Promise<void> {
  fs.mkdirSync(path.join(vs.workspace, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(vs.workspace, '.vscode/settings.json'), JSON.stringify(settings, null, 2));
  await vs.page.waitForTimeout(1500);
}

async function clearNotifications(vs: VsCode): Promise<void> {
  await vs.runCommand('Notifications: Clear All Notifications');
  await until('the notifications to close', async () => (await vs.page.locator('.notification-toast').count()) === 0, 10_000).catch(() => undefined);
}

/** An error notification with `text`; returns its toast. */
async function errorToast(vs: VsCode, text: string | RegExp): Promise<Locator> {
  const toast = vs.notification(text).first();
  await toast.waitFor({ timeout: 30_000 });
  assert.equal(await toast.locator('.codicon-error').count(), 1, `"${await toast.innerText()}" is not shown as an error`);
  return toast;
}

function toastButton(toast: Locator, name: string): Locator {
  return toast.locator('.monaco-button', { hasText: name });
}

/** Trains on the active editor's document and waits until its decorations are painted. */
async function trainAndWait(vs: VsCode): Promise<void> {
  await vs.runCommand(TRAIN);
  await statusItem(vs).filter({ hasText: TOKENS_STATUS }).waitFor({ timeout: 60_000 });
  await until('the tints', async () => (await tints(vs)).latent > 0, 10_000);
}

/** Starts a long run on the active editor's document; resolves once it is training, with the worker's pid. */
async function startLongRun(vs: VsCode, name: string): Promise<number> {
  await vs.runCommand(TRAIN);
  await vs.notification(`Latent Lens: training on ${name}`).filter({ hasText: EPOCH_PROGRESS }).waitFor({ timeout: 30_000 });
  const pids = workerPids(vs);
  assert.equal(pids.length, 1, `one worker process is running (found ${pids.length})`);
  return pids[0]!;
}

/** Waits until no worker process of this session is left. */
async function noWorkerWithin(vs: VsCode, ms: number): Promise<void> {
  await until(`no worker process to remain within ${ms} ms`, () => workerPids(vs).length === 0, ms);
}

function hoverBox(vs: VsCode): Locator {
  return vs.page.locator('.monaco-editor .monaco-resizable-hover .monaco-hover:not(.hidden)');
}

/** Every link of the visible hover; the trusted ones are the two latentLens commands. */
async function hoverLinks(vs: VsCode): Promise<string[]> {
  return hoverBox(vs).locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('data-href') ?? a.getAttribute('href') ?? ''));
}

function isTrustedLink(href: string): boolean {
  return /^command:latentLens\.(showLatent|highlightLatent)\?/.test(href);
}

/** Markup from the document that would have become elements: scripts, images, anchors. */
async function injectedElements(scope: Locator): Promise<string[]> {
  return scope.evaluate((root) =>
    Array.from(root.querySelectorAll('script, img, iframe, a')).map((e) => e.outerHTML).filter((html) => /alert|example\.com|closeAllEditors|src="x"/.test(html)),
  );
}

/** Opens the latent browser by the focus command VS Code makes for its view ("Focus on <name> View"). */
async function openBrowser(vs: VsCode): Promise<FrameLocator> {
  const view = Object.values(manifest.contributes.views ?? {}).flat().find((v) => v.id === 'latentLens.browser');
  assert.ok(view, 'package.json contributes the view latentLens.browser');
  await vs.runCommand(`Focus on ${view.name} View`);
  const frame = vs.webview();
  await frame.locator('[data-testid="summary"]').waitFor({ timeout: 30_000 });
  return frame;
}

/** Drags the side bar's edge so that it is `width` pixels wide (the README's screenshot of the browser). */
async function widenSideBar(vs: VsCode, width: number): Promise<void> {
  const bar = (await vs.page.locator('.part.sidebar').boundingBox())!;
  const y = bar.y + bar.height / 2;
  await vs.page.mouse.move(bar.x + bar.width - 1, y);
  await vs.page.mouse.down();
  await vs.page.mouse.move(bar.x + width, y, { steps: 5 });
  await vs.page.mouse.up();
}

/** The errors the extension logs when the tests kill its worker. */
const EXPECTED_ERRORS = /worker \d+ exited \(code null, signal SIGKILL\)|The Latent Lens worker was killed \(SIGKILL\)/;

/** The extension's id, as in the folder it is installed in and in VS Code's attribution of errors. */
const EXTENSION_ID = /latent-lens\.latent-lens/;

/**
 * Problems in a session's logs: in VS Code's logs, error entries whose text or stack names the
 * extension (an unhandled rejection in the extension host is logged as `[error] Error: …` with the
 * extension's files in its stack); in the extension's own log, any error the tests did not cause.
 */
function logProblems(logs: string): string[] {
  const problems: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.log')) {
        const own = e.name === 'Latent Lens.log';
        // An entry starts with a timestamp; stack traces continue it on the following lines.
        for (const entry of fs.readFileSync(p, 'utf8').split(/\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/)) {
          const error = /^\S+ \S+ \[error\]/.test(entry) || /rejected promise not handled/i.test(entry);
          if (error && (own ? !EXPECTED_ERRORS.test(entry) : EXTENSION_ID.test(entry))) problems.push(`${path.relative(resultsDir, p)}: ${entry}`);
        }
      }
    }
  };
  walk(logs);
  return problems;
}

/**
 * Ends the session (which copies its logs into test-results/vscode-logs), checks the logs and keeps
 * them as test-results/vscode-logs-<session>.
 */
async function closeAndCheckLogs(vs: VsCode, seen: { hostErrors: string[] }, session: string): Promise<void> {
  await vs.close();
  const logs = path.join(resultsDir, 'vscode-logs');
  const problems = logProblems(logs);
  const kept = `${logs}-${session}`;
  fs.rmSync(kept, { recursive: true, force: true });
  fs.renameSync(logs, kept);
  assert.deepEqual(seen.hostErrors, [], 'the window console shows no unexpected error or unhandled rejection of the extension');
  assert.deepEqual(problems, [], `see ${path.relative(projectRoot, kept)}`);
}

/** Collects what must never happen in the window: alerts, and the extension host's unexpected errors on its console. */
function watchPage(page: Page): { dialogs: string[]; hostErrors: string[] } {
  const seen = { dialogs: [] as string[], hostErrors: [] as string[] };
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss().catch(() => undefined);
  });
  // The window's console shows the extension host's unexpected errors as "[latent-lens.latent-lens]…"
  // and its unhandled rejections as "rejected promise not handled…" followed by "stack trace: …".
  page.on('console', (m) => {
    const text = m.text();
    if (text.includes('[latent-lens.latent-lens]') || (/rejected promise not handled|stack trace:/.test(text) && EXTENSION_ID.test(text))) seen.hostErrors.push(text);
  });
  return seen;
}

// ------------------------------------------------------------------ trusted workspace

describe('trusted workspace', () => {
  let vs: VsCode;
  let seen: { dialogs: string[]; hostErrors: string[] };
  let unreachable: string;

  before(async () => {
    const port = await freePort(); // closed again: connections to it are refused
    unreachable = `http://127.0.0.1:${port}`;
    const emptyCache = path.join(tmp, 'empty-cache');
    fs.mkdirSync(emptyCache);
    vs = await VsCode.launch({
      settings: quickSettings(),
      env: { LATENT_LENS_HF_ENDPOINT: unreachable, LATENT_LENS_CACHE: emptyCache, LATENT_LENS_MODEL_DIR: undefined, HF_ENDPOINT: undefined },
      files: {
        '.vscode/settings.json': '{}', // present from the start, so that VS Code watches it when the tests change it
        'closing.md': fs.readFileSync(path.join(projectRoot, 'samples/palinka.md'), 'utf8'),
        'empty.md': '',
        'binary.dat': Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(64), Buffer.from('not text\n')]),
        'hostile.txt': HOSTILE_LINES.join('\n') + '\n',
      },
    });
    seen = watchPage(vs.page);
  });

  after(async () => {
    await vs?.close();
  });

  test('"Train SAE on this file" from the palette tints the tokens of the sample document', { timeout: 90_000 }, async () => {
    await openFile(vs, 'palinka.md');
    await vs.runCommand(TRAIN);
    await vs.notification('Latent Lens: training on palinka.md').waitFor({ timeout: 30_000 });
    await statusItem(vs).filter({ hasText: TOKENS_STATUS }).waitFor({ timeout: 60_000 });
    const t = await until('the tints', async () => {
      const x = await tints(vs);
      return x.latent >= 100 && x;
    }, 10_000);
    assert.equal(t.highlight, 0);
    assert.ok((t.byHue.geography ?? 0) + (t.byHue.punctuation ?? 0) > 0, `some tokens carry the geography or punctuation hue: ${JSON.stringify(t.byHue)}`);
  });

  test('hovering a geography token lists its latents with the two command links', { timeout: 60_000 }, async () => {
    const text = await vs.hoverText('Hungary');
    assert.match(text, /token \d+ of \d+: ·Hungary/);
    assert.match(text, /#\d+\s+\d+(\.\d+)?(e-\d+)?\s+[\d.]+ %/, 'a row with latent id, activation and density');
    assert.match(text, /Show in Latent Browser/);
    assert.match(text, /Highlight this latent/);
    const links = await hoverLinks(vs);
    assert.ok(links.length >= 2 && links.every(isTrustedLink), `only the latentLens command links: ${links.join(', ')}`);
    // For the README: the editor with its hover, without the side bar, once the hover has faded in.
    await vs.page.waitForTimeout(500);
    const editor = (await vs.page.locator('.editor-group-container.active').boundingBox())!;
    const hover = (await hoverBox(vs).boundingBox())!;
    await vs.screenshot('editor-hover', { x: editor.x, y: editor.y, width: editor.width, height: Math.max(hover.y + hover.height, editor.y + 280) - editor.y + 12 });
  });

  test('"Highlight this latent" in the hover paints that latent alone; clearing brings the tints back', { timeout: 60_000 }, async () => {
    await vs.hoverText('Hungary');
    const link = hoverBox(vs).locator('a[data-href^="command:latentLens.highlightLatent"]').first();
    const href = (await link.getAttribute('data-href'))!;
    const latent = (JSON.parse(decodeURIComponent(href.split('?')[1]!)) as [{ latent: number }])[0].latent;
    await link.click();
    await statusItem(vs).filter({ hasText: `latent #${latent}` }).waitFor({ timeout: 10_000 });
    const t = await until('highlight tints only', async () => {
      const x = await tints(vs);
      return x.highlight > 0 && x.latent === 0 && x;
    }, 10_000);
    assert.ok(t.highlight > 0);

    await vs.runCommand('Latent Lens: Stop Highlighting the Latent');
    await statusItem(vs).filter({ hasText: TOKENS_STATUS }).waitFor({ timeout: 10_000 });
    await until('the per-token tints again', async () => {
      const x = await tints(vs);
      return x.highlight === 0 && x.latent >= 100;
    }, 10_000);
  });

  test('the latent browser shows the summary and both lists; clicking a latent highlights it', { timeout: 90_000 }, async () => {
    const frame = await openBrowser(vs);
    await widenSideBar(vs, 560);
    const tokens = /Latent Lens: (\d+) tokens/.exec(await statusText(vs))?.[1];
    assert.ok(tokens);
    await until('the summary to name the token count', async () => (await frame.locator('[data-testid="summary"]').innerText()).includes(tokens), 10_000);
    const geography = frame.locator('[data-testid="list-geography"] [data-testid="latent-row"]');
    const punctuation = frame.locator('[data-testid="list-punctuation"] [data-testid="latent-row"]');
    await geography.first().waitFor({ timeout: 10_000 });
    await punctuation.first().waitFor({ timeout: 10_000 });

    const row = geography.first();
    const latent = Number(await row.getAttribute('data-latent'));
    assert.ok(Number.isInteger(latent), 'a row names its latent in data-latent');
    await row.click();
    await statusItem(vs).filter({ hasText: `latent #${latent}` }).waitFor({ timeout: 10_000 });
    await until('highlight tints in the editor', async () => {
      const x = await tints(vs);
      return x.highlight > 0 && x.latent === 0;
    }, 10_000);
    const heatmap = frame.locator('[data-testid="heatmap"]');
    await until('the heatmap to show the document', async () => (await heatmap.isVisible()) && (await heatmap.innerText()).includes('Hungary'), 10_000);
    await vs.screenshot('latent-browser');

    await vs.runCommand('Latent Lens: Stop Highlighting the Latent');
    await statusItem(vs).filter({ hasText: TOKENS_STATUS }).waitFor({ timeout: 10_000 });
  });

  test('an edit marks the run stale in the status bar and keeps the tints of unchanged tokens', { timeout: 60_000 }, async () => {
    await vs.editorText('Pálinka').first().click();
    await vs.page.keyboard.press('End');
    await vs.page.keyboard.type(' (edited)');
    await statusItem(vs).filter({ hasText: 'Latent Lens: stale' }).waitFor({ timeout: 10_000 });
    assert.ok((await tints(vs)).latent >= 100, 'the tints of unchanged tokens stay');
  });

  // -------------------------------------------------------------- runs that are stopped

  test('Cancel in the progress notification ends the worker within a second', { timeout: 60_000 }, async (t) => {
    await clearNotifications(vs);
    await setWorkspaceSettings(vs, LONG_RUN);
    await startLongRun(vs, 'palinka.md');
    const toast = vs.notification('Latent Lens: training on palinka.md');
    const clicked = Date.now();
    await toastButton(toast, 'Cancel').click();
    await noWorkerWithin(vs, 1000);
    t.diagnostic(`the worker was gone ${Date.now() - clicked} ms after the click on Cancel`);
    await toast.waitFor({ state: 'hidden', timeout: 5_000 });
    await vs.page.locator('.part.statusbar', { hasText: 'Latent Lens: run cancelled.' }).waitFor({ timeout: 5_000 });
    assert.equal(await vs.page.locator('.notification-toast .codicon-error').count(), 0, 'a cancel is not an error');
  });

  test('closing the document mid-run cancels the run quietly and stops the worker', { timeout: 60_000 }, async (t) => {
    await openFile(vs, 'closing.md');
    await startLongRun(vs, 'closing.md');
    await vs.runCommand('View: Close Editor');
    const closed = Date.now();
    await noWorkerWithin(vs, 1500); // the extension waits 200 ms for the document to come back (a language change) before cancelling
    t.diagnostic(`the worker was gone ${Date.now() - closed} ms after the editor closed`);
    await vs.page.waitForTimeout(500);
    assert.equal(await vs.page.locator('.notification-toast .codicon-error').count(), 0, 'closing is not an error');
  });

  test('a window reload mid-run stops the worker (the tests below run in the reloaded window)', { timeout: 90_000 }, async () => {
    await openFile(vs, 'palinka.md');
    const pid = await startLongRun(vs, 'palinka.md');
    await vs.page.reload();
    await vs.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await until(`the worker ${pid} to exit after the reload`, () => !workerPids(vs).includes(pid), 15_000);
  });

  test('a worker killed from outside gives an error with "Show Log"; the next run works', { timeout: 120_000 }, async () => {
    await openFile(vs, 'palinka.md');
    const pid = await startLongRun(vs, 'palinka.md');
    process.kill(pid, 'SIGKILL');
    const toast = await errorToast(vs, /worker was killed/);
    await toastButton(toast, 'Show Log').click();
    await vs.page.locator('.part.panel', { hasText: `worker ${pid} exited` }).waitFor({ timeout: 10_000 });
    await clearNotifications(vs);

    await setWorkspaceSettings(vs, {});
    await openFile(vs, 'palinka.md');
    await trainAndWait(vs);
  });

  // -------------------------------------------------------------- bad input

  test('an empty document gives a clear message', { timeout: 60_000 }, async () => {
    await openFile(vs, 'empty.md');
    await vs.runCommand(TRAIN);
    await errorToast(vs, 'empty.md is empty or only whitespace');
    await clearNotifications(vs);
  });

  test('a binary file gives a clear message', { timeout: 60_000 }, async () => {
    await showExplorer(vs, 'binary.dat');
    await vs.explorerRow('binary.dat').dblclick();
    // VS Code first declines to show a binary file; a user who insists picks the text editor.
    await vs.page.getByText('Open Anyway').click({ timeout: 15_000 });
    await vs.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Text Editor' }).click();
    await vs.page.locator('.editor-group-container.active .monaco-editor .view-lines').waitFor();
    await vs.runCommand(TRAIN);
    await errorToast(vs, 'binary.dat looks like a binary file');
    await clearNotifications(vs);
  });

  test('more tokens than latentLens.maxTokens gives a message naming the setting', { timeout: 60_000 }, async () => {
    await setWorkspaceSettings(vs, { 'latentLens.maxTokens': 20 });
    await openFile(vs, 'palinka.md');
    await vs.runCommand(TRAIN);
    const toast = await errorToast(vs, /more than the limit of 20 set by latentLens\.maxTokens/);
    await toastButton(toast, 'Open Settings').waitFor();
    await clearNotifications(vs);
    await setWorkspaceSettings(vs, {});
  });

  test('a model download that cannot reach the hub gives a clear message', { timeout: 60_000 }, async () => {
    await setWorkspaceSettings(vs, { 'latentLens.model.source': 'download' });
    await openFile(vs, 'palinka.md');
    await vs.runCommand(TRAIN);
    const toast = await errorToast(vs, `cannot reach the Hugging Face hub at ${unreachable}`);
    assert.match(await toast.innerText(), /latentLens\.model\.source/, 'the message says which setting to change');
    await toastButton(toast, 'Open Settings').waitFor();
    await clearNotifications(vs);
    await setWorkspaceSettings(vs, {});
  });

  test('<script>, <img onerror>, markdown and command links in the document stay text in the hover', { timeout: 90_000 }, async () => {
    await openFile(vs, 'hostile.txt');
    await trainAndWait(vs);
    for (const [token, nth] of [['script', 0], ['onerror', 0], ['click', 0], ['command', 0], ['closeAllEditors', 0]] as const) {
      const text = await vs.hoverText(token, nth);
      assert.match(text, /token \d+ of \d+:/, `the hover of "${token}"`);
      const links = await hoverLinks(vs);
      assert.ok(links.every(isTrustedLink), `the hover of "${token}" links only the latentLens commands: ${links.join(', ')}`);
      assert.deepEqual(await injectedElements(hoverBox(vs)), [], `nothing from the document became an element in the hover of "${token}"`);
    }
    assert.deepEqual(seen.dialogs, [], 'no alert ran');
    assert.equal(await vs.page.locator('.tabs-container .tab[data-resource-name="hostile.txt"]').count(), 1, 'the command link did not run');
  });

  test('the same document stays text in the latent browser', { timeout: 60_000 }, async () => {
    const frame = await openBrowser(vs);
    const row = frame.locator('[data-testid="latent-row"]:visible').first(); // the Not-significant section starts collapsed
    await row.waitFor({ timeout: 10_000 });
    await row.click();
    const heatmap = frame.locator('[data-testid="heatmap"]');
    await until('the heatmap of hostile.txt', async () => (await heatmap.isVisible()) && (await heatmap.innerText()).includes('Budapest'), 10_000);
    const shown = (await heatmap.innerText()).replace(/\s+/g, ' ');
    for (const s of ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '[run it](command:workbench.action.closeAllEditors)']) {
      assert.ok(shown.includes(s), `the heatmap shows ${s} as text`);
    }
    assert.deepEqual(await injectedElements(frame.locator('body')), [], 'nothing from the document became an element in the browser');
    assert.deepEqual(seen.dialogs, [], 'no alert ran');
  });

  test('no unhandled promise rejection or latent-lens error reaches the extension host log', { timeout: 60_000 }, () => closeAndCheckLogs(vs, seen, 'trusted'));
});

// ------------------------------------------------------------------ untrusted workspace

describe('untrusted workspace (Restricted Mode)', () => {
  let vs: VsCode;
  let seen: { dialogs: string[]; hostErrors: string[] };

  before(async () => {
    vs = await VsCode.launch({
      settings: quickSettings(),
      workspaceTrust: true,
      // Restricted Mode must ignore a model directory that the workspace names.
      files: { '.vscode/settings.json': JSON.stringify({ 'latentLens.model.directory': path.join(tmp, 'no-such-model') }) },
    });
    seen = watchPage(vs.page);
  });

  after(async () => {
    await vs?.close();
  });

  test('training works with the user\'s settings and says which workspace settings are ignored', { timeout: 90_000 }, async () => {
    const distrust = vs.page.getByRole('button', { name: "No, I don't trust the authors" });
    await distrust.click({ timeout: 30_000 });
    await vs.page.locator('.part.statusbar', { hasText: 'Restricted Mode' }).waitFor({ timeout: 10_000 });
    await openFile(vs, 'palinka.md');
    await vs.runCommand(TRAIN);
    await vs.notification(/Restricted Mode: Latent Lens ignores this workspace's latentLens\.model\.directory/).waitFor({ timeout: 30_000 });
    await statusItem(vs).filter({ hasText: TOKENS_STATUS }).waitFor({ timeout: 60_000 });
    await until('the tints', async () => (await tints(vs)).latent >= 100, 10_000);
  });

  test('no unhandled promise rejection or latent-lens error reaches the extension host log', { timeout: 60_000 }, () => closeAndCheckLogs(vs, seen, 'untrusted'));
});
