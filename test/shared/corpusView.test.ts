import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { textSha256 } from '../../src/core/corpus/text';
import { corpusFileView, fileView, withAnalysis } from '../../src/shared/corpusView';
import { runFacts } from '../../src/shared/runFacts';
import { tempRoot } from '../fixtures/cli';
import { makeRunView } from '../fixtures/runView';

const root = tempRoot('corpus-view-');

/** The fixture run as a corpus of two files: its first 10 tokens are a.md, the rest notes/b.md (offsets rebased). */
function corpusRun() {
  const view = makeRunView(path.join(root, 'run'));
  const T = view.tokens.tokens.length;
  const cut = view.tokens.tokens[10].start;
  const tokens = view.tokens.tokens.map((t, i) => (i < 10 ? t : { ...t, start: t.start - cut, end: t.end - cut }));
  const files = [
    { path: 'a.md', sha256: textSha256('text of a'), first: 0, tokens: 10 },
    { path: 'notes/b.md', sha256: textSha256('text of b'), first: 10, tokens: T - 10 },
  ];
  return { ...view, tokens: { ...view.tokens, source: '/work/notes', tokens, files, skipped: [] } };
}

test('a file of a corpus run is found by the sha256 of its text; its view is the run cut to its tokens and their top latents', () => {
  const run = corpusRun();
  const T = run.tokens.tokens.length;
  const b = corpusFileView(run, textSha256('text of b'))!;
  assert.ok(b, 'found by its hash');
  assert.deepEqual(b.corpusFile, { ...run.tokens.files[1], root: '/work/notes', files: 2 });
  assert.equal(b.tokens.source, '/work/notes/notes/b.md');
  assert.equal(b.tokens.offset, 0);
  assert.equal(b.tokens.files, undefined);
  assert.deepEqual(b.tokens.tokens, run.tokens.tokens.slice(10));
  assert.equal(b.tokens.tokens[0].start, 0, 'offsets within the file');
  for (const key of ['perToken', 'perTokenExcludingAlwaysOn'] as const) {
    assert.equal(b.analysis[key].n, run.analysis[key].n);
    assert.deepEqual(b.analysis[key].latents, run.analysis[key].latents.slice(10, T));
    assert.deepEqual(b.analysis[key].values, run.analysis[key].values.slice(10, T));
  }
  assert.deepEqual(b.analysis.heatmaps, [], "the corpus's heatmaps index its own tokens");
  assert.equal(b.analysis.latents, run.analysis.latents, "the latent table is the corpus's");
  assert.deepEqual(b.cfg, run.cfg);
  // What the editor paints from it: token i of the file is token 10 + i of the run.
  const whole = runFacts(run);
  const part = runFacts(b);
  for (let i = 0; i < b.tokens.tokens.length; i++) assert.deepEqual(part.tint(i, true), whole.tint(10 + i, true));

  // A new analysis of the run (another lexicon, or with its evidence) reaches the file's view cut the same way.
  const again = withAnalysis(b, { ...run.analysis, evidence: { unavailable: 'a corpus' } });
  assert.deepEqual(again.analysis.perToken, b.analysis.perToken);
  assert.deepEqual(again.analysis.evidence, { unavailable: 'a corpus' });
  assert.equal(withAnalysis(run, b.analysis).analysis, b.analysis, 'a whole run takes the analysis as it is');

  const a = fileView(run, run.tokens.files[0]);
  assert.deepEqual(a.tokens.tokens, run.tokens.tokens.slice(0, 10));
  assert.equal(corpusFileView(run, textSha256('an edited text of b')), undefined, 'an edited file is none of the files');
  assert.equal(corpusFileView(makeRunView(path.join(root, 'doc-run')), textSha256('text of a')), undefined, 'a one-document run has no files');
});
