import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { textSha256 } from '../../../src/core/corpus/text';
import type { RunTokens } from '../../../src/core/run/format';
import { RUN_FILES } from '../../../src/core/run/runDir';
import { CorpusRuns } from '../../../src/editor/corpus/corpusRuns';
import { CorpusEta, corpusSummary, filesExcludeGlobs, skippedLines } from '../../../src/editor/corpus/corpusText';
import type { ProgressEvent } from '../../../src/shared/protocol';
import { tempRoot } from '../../fixtures/cli';
import { makeRunView } from '../../fixtures/runView';

const root = tempRoot('corpus-runs-');
const A = 'text of a.md';
const B = 'text of notes/b.md';

/** The fixture run written as a corpus run of two files (tokens 0–9 are a.md's) into `dir`. */
function writeCorpusRun(dir: string) {
  const view = makeRunView(dir);
  const T = view.tokens.tokens.length;
  const tokens: RunTokens = {
    ...view.tokens,
    source: '/work/notes',
    files: [
      { path: 'a.md', sha256: textSha256(A), first: 0, tokens: 10 },
      { path: 'notes/b.md', sha256: textSha256(B), first: 10, tokens: T - 10 },
    ],
    skipped: [{ path: 'logo.png', why: 'binary', detail: 'binary (NUL bytes or mostly control characters)' }],
  };
  fs.writeFileSync(path.join(dir, RUN_FILES.tokens), JSON.stringify(tokens));
  return { ...view, tokens };
}

test('a remembered corpus run shows any of its files by the sha256 of its text; the folder’s next run replaces it', () => {
  const runs = new CorpusRuns(path.join(root, 'store'));
  assert.equal(runs.lookup(A), undefined, 'nothing remembered yet');
  const folder = 'file:///work/notes';
  const first = runs.newRunDir(folder);
  const view = writeCorpusRun(first);
  runs.save(folder, first);
  const b = runs.lookup(B)!;
  assert.equal(b.entry.runDir, first);
  assert.equal(b.view.corpusFile!.path, 'notes/b.md');
  assert.deepEqual(b.view.tokens.tokens, view.tokens.tokens.slice(10));
  assert.deepEqual(b.view.analysis.perToken.latents, view.analysis.perToken.latents.slice(10));
  assert.equal(runs.lookup(A)!.view.tokens.tokens.length, 10);
  assert.equal(runs.lookup(`${B} edited`), undefined, 'an edited file matches no file of the run');

  const second = runs.newRunDir(folder);
  writeCorpusRun(second);
  runs.save(folder, second);
  assert.equal(fs.existsSync(first), false, 'the folder’s earlier run directory is deleted');
  assert.equal(runs.lookup(B)!.entry.runDir, second);
  assert.equal(runs.entries().length, 1);
  const other = runs.newRunDir('file:///work/other');
  writeCorpusRun(other);
  runs.save('file:///work/other', other);
  assert.deepEqual(runs.entries().map((e) => e.folder), ['file:///work/other', folder], 'newest first');
  fs.rmSync(other, { recursive: true });
  assert.equal(runs.lookup(B)!.entry.runDir, second, 'a run directory gone from disk is passed over');
});

test('files.exclude globs that are on; the progress line with files, tokens and the time left; the summary and the skipped files', () => {
  assert.deepEqual(filesExcludeGlobs({ '**/.git': true, '**/node_modules': true, '**/*.js': { when: '$(basename).ts' }, out: false }), ['**/.git', '**/node_modules']);
  assert.deepEqual(filesExcludeGlobs(undefined), []);

  const eta = new CorpusEta();
  const ev = (phase: ProgressEvent['phase'], files: number, tokens: number, p = ''): ProgressEvent => ({ jobId: 'j', phase, message: 'm', corpus: { files, totalFiles: 4, tokens, totalTokens: 1000, path: p } });
  assert.equal(eta.line(ev('scan', 2, 0), 0), 'reading file 2 of 4');
  assert.equal(eta.line(ev('extract', 0, 0, 'a.md'), 1000), 'extracting file 1 of 4 (a.md) · 0 of 1,000 tokens');
  assert.equal(eta.line(ev('extract', 1, 250, 'b.md'), 11_000), 'extracting file 2 of 4 (b.md) · 250 of 1,000 tokens · about 30 s left', '250 tokens in 10 s: 750 more in 30 s');
  assert.equal(eta.line({ jobId: 'j', phase: 'train', message: 'm', epoch: 2, epochs: 10, loss: 0.5, etaMs: 8000 }, 20_000), 'epoch 2/10 · loss 0.500 · about 8 s left');

  const view = writeCorpusRun(path.join(root, 'summary'));
  assert.match(corpusSummary(view, 'notes'), /^Latent Lens: trained an SAE on 2 files of notes \(\d+ tokens\), FVE 0\.800; skipped 1 \(1 binary\)\. Open any of its files/);
  assert.deepEqual(skippedLines(view), ['skipped logo.png: binary (NUL bytes or mostly control characters)']);
});
