/**
 * The README's screenshots: the packaged extension in code-server (test/e2e/harness.ts) with default
 * settings on samples/palinka.md and the random-weights stand-in with GPT-2 Small's shapes (the
 * numbers are a random model's, and the pictures say so). Writes media/screenshots/*.png.
 *   npm run package && bash test/e2e/setup.sh && node --import tsx scripts/screenshots.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomStandIn } from '../src/core/model/fallback';
import { VsCode } from '../test/e2e/harness';

const TRAIN = 'Latent Lens: Train SAE on this file';
const STATUS = '[id="latent-lens.latent-lens.latentLens.status"]';
const OUT = path.join(__dirname, '..', 'media', 'screenshots');
const EVIDENCE_DONE = /\] evidence of \S+ done after/;

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`no ${what} after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  const modelDir = randomStandIn().dir;
  const vs = await VsCode.launch({ settings: { 'latentLens.model.source': 'localDirectory', 'latentLens.model.directory': modelDir } });
  try {
    await vs.openFile('palinka.md');
    await vs.runCommand(TRAIN);
    await vs.page.locator(STATUS).filter({ hasText: /Latent Lens: \d+ tokens/ }).waitFor({ timeout: 300_000 });
    await waitFor('causal evidence', () => EVIDENCE_DONE.test(vs.extensionLog()), 300_000);
    await vs.page.locator('.notification-toast .codicon-notifications-clear-all, .notification-toast .codicon-close').first().click().catch(() => undefined);

    await vs.hoverText('Hungary');
    fs.mkdirSync(OUT, { recursive: true });
    await vs.page.screenshot({ path: path.join(OUT, 'editor-hover.png') });

    await vs.page.mouse.move(5, 5);
    await vs.runCommand('Focus on Latent Browser View');
    const frame = vs.webview();
    await frame.locator('[data-testid="summary"]').waitFor({ timeout: 30_000 });
    const bar = (await vs.page.locator('.part.sidebar').boundingBox())!;
    await vs.page.mouse.move(bar.x + bar.width - 1, bar.y + bar.height / 2);
    await vs.page.mouse.down();
    await vs.page.mouse.move(bar.x + 560, bar.y + bar.height / 2, { steps: 5 });
    await vs.page.mouse.up();
    await vs.page.waitForTimeout(1000);
    await vs.page.screenshot({ path: path.join(OUT, 'latent-browser.png') });
    for (const f of ['editor-hover.png', 'latent-browser.png']) console.log(`${path.join(OUT, f)}: ${(fs.statSync(path.join(OUT, f)).size / 1024).toFixed(0)} KB`);
  } finally {
    await vs.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
