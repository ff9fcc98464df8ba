/**
 * Enter → tints in a real VS Code (code-server, test/e2e/harness.ts) with the default settings (seed
 * preset: 6144 latents, k 384, 100 epochs) on samples/palinka.md and a random model with GPT-2
 * Small's shapes (the stand-in of src/core/model/fallback.ts, generated once into the cache). Each
 * run is timed from the Enter that starts the command to the first painted tint; the phases are what
 * the status bar said, polled every 50 ms. The first run starts the worker (cold), the second reuses
 * it (warm). The first run starts SETTLE_MS (default 5000) after the document opened, as a person
 * reads before running a command: right after code-server's window opens, the command took 1.4 s
 * to reach the extension (the extension's log against the Enter), 0.06 s once the window had
 * settled — code-server's own start-up, not the run; SETTLE_MS=0 measures it too. Needs `npm run package` and
 * test/e2e/setup.sh, like the e2e tests.
 *   node --import tsx bench/editor.ts [runs (default 2)]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GPT2_SMALL_SHAPE, randomStandIn } from '../src/core/model/fallback';
import { VsCode } from '../test/e2e/harness';

const TRAIN = 'Latent Lens: Train SAE on this file';
const STATUS = '[id="latent-lens.latent-lens.latentLens.status"]';

/** CPU seconds (user + system) used so far by the processes of each role, from /proc. */
function cpuByRole(): Record<string, number> {
  const tick = 100; // USER_HZ on Linux
  const out: Record<string, number> = {};
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const role = cmd.includes('dist/worker.js') ? 'worker' : cmd.includes('chromium') ? 'chromium' : cmd.includes('extensionHost') ? 'extension host' : cmd.includes('code-server') ? 'code-server' : undefined;
      if (!role) continue;
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      out[role] = (out[role] ?? 0) + (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Runs in the page: records every change of the status-bar item's text and when the editor first
 * shows tint boxes, with a MutationObserver, so that timing costs the page nothing in between.
 * (No inner named functions: tsx would wrap them in a helper the page does not have.)
 */
function watchRun(status: string): void {
  const w = window as unknown as { llRun: { t0: number; changes: [number, string][]; tinted?: number } };
  const run = (w.llRun = { t0: performance.now(), changes: [] as [number, string][], tinted: undefined as number | undefined });
  let last = '';
  let started = false;
  const observer = new MutationObserver(() => {
    const text = (document.querySelector(status)?.textContent ?? '').trim().replace(/\s+/g, ' ');
    if (text !== last) {
      last = text;
      run.changes.push([performance.now() - run.t0, text]);
    }
    started ||= text !== '' && !/^Latent Lens: \d+ tokens/.test(text);
    if (started && run.tinted === undefined && /^Latent Lens: \d+ tokens/.test(text) && document.querySelector('.editor-group-container.active .monaco-editor .view-overlays .cdr[class*="TextEditorDecorationType"]')) {
      run.tinted = performance.now() - run.t0;
      observer.disconnect();
    }
  });
  observer.observe(document.body, { subtree: true, childList: true, characterData: true });
}

function readRun(): { changes: [number, string][]; tinted?: number } {
  return (window as unknown as { llRun: { changes: [number, string][]; tinted?: number } }).llRun;
}

async function timedRun(vs: VsCode): Promise<{ total: number; phases: [number, string][]; cpu: Record<string, number> }> {
  const page = vs.page;
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor();
  await input.pressSequentially(TRAIN);
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: TRAIN }).first().waitFor();
  const cpu0 = cpuByRole();
  await page.evaluate(watchRun, STATUS);
  await page.keyboard.press('Enter');
  const deadline = Date.now() + 300_000;
  for (;;) {
    await page.waitForTimeout(500);
    const r = await page.evaluate(readRun);
    if (r.tinted !== undefined) {
      const cpu = cpuByRole();
      for (const k of Object.keys(cpu)) cpu[k] -= cpu0[k] ?? 0;
      // One line per phase: the first status of each (the text before its first number).
      const phases: [number, string][] = [];
      for (const [ms, text] of r.changes) {
        const phase = (t: string) => t.replace(/^Latent Lens: /, '').replace(/[\d(].*$/, '').trim();
        if (phases.length === 0 || phase(phases[phases.length - 1][1]) !== phase(text)) phases.push([ms, text]);
      }
      return { total: r.tinted, phases, cpu };
    }
    if (Date.now() > deadline) throw new Error(`no tints after 300 s; status changes: ${JSON.stringify(r.changes.slice(-3))}`);
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 2);
  const modelDir = randomStandIn().dir;
  const vs = await VsCode.launch({
    settings: { 'latentLens.model.source': 'localDirectory', 'latentLens.model.directory': modelDir },
  });
  try {
    await vs.openFile('palinka.md');
    const settleMs = Number(process.env.SETTLE_MS ?? 5000);
    await vs.page.waitForTimeout(settleMs);
    console.log(`model ${modelDir} (${GPT2_SMALL_SHAPE.layers} layers, d ${GPT2_SMALL_SHAPE.dModel}, random weights); document samples/palinka.md; default settings; first run ${settleMs / 1000} s after the document opened`);
    for (let i = 0; i < runs; i++) {
      const r = await timedRun(vs);
      console.log(`\nrun ${i + 1} (${i === 0 ? 'cold worker' : 'warm worker'}): Enter → tints ${(r.total / 1000).toFixed(1)} s`);
      for (const [ms, text] of r.phases) console.log(`  ${(ms / 1000).toFixed(1).padStart(5)} s  ${text}`);
      console.log(`  CPU seconds meanwhile: ${Object.entries(r.cpu).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; load average ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`);
      const idle0 = cpuByRole();
      await vs.page.waitForTimeout(10_000);
      const idle = cpuByRole();
      if (process.env.SHOTS) await vs.screenshot(`bench-editor-${i + 1}`);
      console.log(`  idle for 10 s after it: ${Object.entries(idle).map(([k, v]) => `${k} ${(v - (idle0[k] ?? 0)).toFixed(1)}`).join(', ')}`);
    }
  } finally {
    await vs.close();
  }
  console.log(`\nVS Code's logs: ${path.join('test-results', 'vscode-logs')}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
