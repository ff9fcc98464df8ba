import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { statusView } from '../../../src/editor/status/statusText';
import { makeRunView } from '../../fixtures/runView';

test('the status bar says running, stale, highlighting or the run summary', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-status-'));
  try {
    const run = makeRunView(path.join(tmp, 'run'));
    assert.equal(statusView({ stale: false }), undefined);
    const running = statusView({ running: 'epoch 3/100', run, stale: true })!;
    assert.match(running.text, /beaker.*epoch 3\/100/);
    assert.equal(running.command, 'latentLens.cancelRun');
    const stale = statusView({ run, stale: true })!;
    assert.match(stale.text, /stale/);
    assert.equal(stale.warning, true);
    assert.equal(stale.command, 'latentLens.trainOnFile');
    const hl = statusView({ run, stale: false, highlighted: 3 })!;
    assert.match(hl.text, /latent #3/);
    assert.equal(hl.command, 'latentLens.clearHighlight');
    const done = statusView({ run, stale: false })!;
    assert.match(done.text, /50 tokens \(random weights\)/);
    assert.match(done.tooltip, /FVE 0\.800 · L0 1\.5 · dead 33\.3 %/);
    assert.equal(done.warning, false);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
