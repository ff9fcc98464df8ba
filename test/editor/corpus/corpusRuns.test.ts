import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { textSha256 } from '../../../src/core/corpus/text';
import type { RunTokens } from '../../../src/core/run/format';
import { RUN_FILES } from '../../../src/core/run/runDir';
import { CorpusRuns } from '../../../src/editor/corpus/corpusRuns';
import { corpusSummary, filesExcludeGlobs, skippedLines } from '../../../src/editor/corpus/corpusText';
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

test('files.exclude globs that are on; the summary and the skipped files', () => {
  assert.deepEqual(filesExcludeGlobs({ '**/.git': true, '**/node_modules': true, '**/*.js': { when: '$(basename).ts' }, out: false }), ['**/.git', '**/node_modules']);
  assert.deepEqual(filesExcludeGlobs(undefined), []);

  const view = writeCorpusRun(path.join(root, 'summary'));
  assert.match(corpusSummary(view, 'notes'), /^Latent Lens: trained an SAE on 2 files of notes \(\d+ tokens\), FVE 0\.800; skipped 1 \(1 binary\)\. Open any of its files/);
  assert.deepEqual(skippedLines(view), ['skipped logo.png: binary (NUL bytes or mostly control characters)']);
});
