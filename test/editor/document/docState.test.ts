import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { editDocState, newDocState, paintInput, settle } from '../../../src/editor/document/docState';
import { makeRunView, TEXT } from '../../fixtures/runView';

function withRun(offset: number, fn: (view: ReturnType<typeof makeRunView>) => void): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-doc-'));
  try {
    fn(makeRunView(path.join(tmp, 'run'), offset));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('spans start at the selection offset and follow edits; an edit marks the state stale', () => {
  withRun(10, (view) => {
    const s = newDocState('untitled:Untitled-1', view, ' '.repeat(10) + TEXT);
    const hungary = view.tokens.tokens.findIndex((t) => t.text === ' Hungary');
    const t = view.tokens.tokens[hungary];
    assert.deepEqual(s.spans[hungary], { start: t.start + 10, end: t.end + 10 });
    assert.equal(s.stale, false);
    // Type 3 characters at the start of the document: every token moves by 3.
    const e = editDocState(s, [{ offset: 0, removed: 0, inserted: 3 }]);
    assert.equal(e.stale, true);
    assert.deepEqual(e.spans[hungary], { start: t.start + 13, end: t.end + 13 });
    // Replace "Hungary": that token goes, the rest stay.
    const e2 = editDocState(e, [{ offset: t.start + 14, removed: 7, inserted: 6 }]);
    assert.equal(e2.spans[hungary], null);
    assert.equal(e2.spans.filter((x) => x === null).length, 1);
    assert.equal(e2.live.length, view.tokens.tokens.length - 1);
  });
});

test('paint input: each token tinted by its most informative latent, painted by its activation in its hue, with why; labels above the threshold', () => {
  withRun(0, (view) => {
    const s = newDocState('u', view, TEXT);
    const idx = (text: string) => view.tokens.tokens.findIndex((t) => t.text === text);
    const settings = { labels: { enabled: true, threshold: 0.9 }, excludeAlwaysOn: true };
    const p = paintInput(s, settings);
    assert.deepEqual(p.tints[idx(' Hungary')], { value: 4, hue: 'geography' });
    assert.deepEqual(p.tints[idx(',')], { value: 2, hue: 'punctuation' });
    assert.deepEqual(p.tints[idx(' and')], { value: 1, hue: 'geography' });
    assert.deepEqual(p.tints[idx('P')], { value: 0, hue: 'other' }, 'only the always-on #2 fires there: no tint');
    assert.equal(p.why[idx(' Hungary')], "Tint #0: 100 % of its document max, the token's only candidate (always-on latents left out)");
    assert.match(p.why[idx(' and')], /^Tint #0: 25 % of its document max/);
    assert.equal(p.why[idx('P')], 'No tint: only always-on or near-always latents fire here');
    const labelled = p.labels.flatMap((l, i) => (l === undefined ? [] : [view.tokens.tokens[i].text]));
    assert.deepEqual(
      labelled,
      view.tokens.tokens.filter((_, i) => view.analysis.concept.tokens.includes(i) && s.facts.top(i)[0].latent === 0).map((t) => t.text),
      'labels where #0 fires at 4 ≥ 0.9 × 4',
    );
    assert.ok(labelled.includes(' Hungary') && !labelled.includes(' and'));
    assert.deepEqual(paintInput(s, { ...settings, labels: { enabled: false, threshold: 0 } }).labels, []);

    // With always-on latents allowed, #2 (0.5 everywhere, so always at its own max) tints what nothing else peaks on.
    const all = paintInput(s, { ...settings, excludeAlwaysOn: false });
    assert.deepEqual(all.tints[idx('P')], { value: 0.5, hue: 'other' });
    assert.deepEqual(all.tints[idx(' and')], { value: 0.5, hue: 'other' }, '#2 at its max beats #0 at 25 % of its own');
    assert.deepEqual(all.tints[idx(' Hungary')], { value: 4, hue: 'geography' }, 'a tie at 100 %: the larger activation');
    assert.match(all.why[idx(' and')], /^Tint #2: 100 % of its document max, the highest of the token's 2 strongest latents, always-on ones included$/);
  });
});

test('highlight mode paints one latent\'s values in the highlight hue, without labels', () => {
  withRun(0, (view) => {
    const values = view.tokens.tokens.map((t) => (t.text === ' from' ? 1 : 0));
    const p = paintInput({ ...newDocState('u', view, TEXT), highlight: { latent: 3, values } }, { labels: { enabled: true, threshold: 0 }, excludeAlwaysOn: true });
    assert.deepEqual(p.tints.map((t) => t.value), values);
    assert.ok(p.tints.every((t) => t.hue === 'highlight'));
    assert.deepEqual(p.labels, []);
    assert.deepEqual(p.why, []);
    assert.equal(TEXT.slice(p.spans[4]!.start, p.spans[4]!.end), ' from');
  });
});

test('an edit undone back to the trained text is fresh again, its tokens where they were; any other text stays stale', () => {
  withRun(0, (view) => {
    const s = newDocState('u', view, TEXT);
    const typed = editDocState(s, [{ offset: 5, removed: 0, inserted: 1 }]);
    const edited = TEXT.slice(0, 5) + 'x' + TEXT.slice(5);
    assert.equal(settle(typed, edited).stale, true, 'the typed text differs');
    const undone = settle(editDocState(typed, [{ offset: 5, removed: 1, inserted: 0 }]), TEXT);
    assert.equal(undone.stale, false, 'the same text hash as when it was trained');
    assert.deepEqual(undone.spans, s.spans, 'every token back, including the one the edit touched');
    assert.equal(undone.live.length, view.tokens.tokens.length);
    const sameLength = TEXT.slice(0, 5) + (TEXT[5] === 'a' ? 'b' : 'a') + TEXT.slice(6);
    assert.equal(settle(editDocState(s, [{ offset: 5, removed: 1, inserted: 1 }]), sameLength).stale, true, 'same length, other text');
    assert.equal(settle(s, 'anything'), s, 'a fresh state is left as it is');
  });
});
