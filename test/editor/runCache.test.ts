import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ANALYSIS_FILE } from '../../src/core/analysis/types';
import { loadRunView, RunCache } from '../../src/editor/runCache';
import { makeRunView, TEXT } from '../fixtures/runView';

function withCache(fn: (cache: RunCache, tmp: string) => void): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-cache-'));
  try {
    fn(new RunCache(path.join(tmp, 'runs')), tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const URI = 'file:///work/doc.md';

test('a saved run comes back for the same URI and text, not for other text or another URI', () => {
  withCache((cache) => {
    const dir = cache.newRunDir(URI);
    const view = makeRunView(dir);
    cache.save(URI, 7, TEXT, dir);
    const hit = cache.lookup(URI, TEXT);
    assert.ok(hit);
    assert.equal(hit.entry.docVersion, 7);
    assert.deepEqual(hit.view, view);
    assert.equal(cache.lookup(URI, TEXT + ' edited'), undefined);
    assert.equal(cache.lookup('file:///work/other.md', TEXT), undefined);
  });
});

test('saving a newer run removes the document\'s older run directories', () => {
  withCache((cache) => {
    const first = cache.newRunDir(URI);
    makeRunView(first);
    cache.save(URI, 1, TEXT, first);
    const second = cache.newRunDir(URI);
    makeRunView(second);
    cache.save(URI, 2, TEXT, second);
    assert.equal(fs.existsSync(first), false);
    assert.equal(cache.lookup(URI, TEXT)?.view.runDir, second);
    cache.forget(URI);
    assert.equal(cache.lookup(URI, TEXT), undefined);
  });
});

test('a damaged or outdated run is a miss, not an error', () => {
  withCache((cache) => {
    const dir = cache.newRunDir(URI);
    makeRunView(dir);
    cache.save(URI, 1, TEXT, dir);
    const file = path.join(dir, ANALYSIS_FILE);
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...report, version: 999 }));
    assert.equal(cache.lookup(URI, TEXT), undefined);
    fs.writeFileSync(file, '{ not json');
    assert.equal(loadRunView(dir), undefined);
    fs.rmSync(dir, { recursive: true });
    assert.equal(cache.lookup(URI, TEXT), undefined);
  });
});
