import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { editDocState, newDocState, paintInput } from '../../../src/editor/document/docState';
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
    const s = newDocState('untitled:Untitled-1', view);
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

test('paint input: the strongest latent\'s value and hue per token; labels above the threshold', () => {
  withRun(0, (view) => {
    const s = newDocState('u', view);
    const idx = (text: string) => view.tokens.tokens.findIndex((t) => t.text === text);
    const p = paintInput(s, { enabled: true, threshold: 0.9 });
    assert.deepEqual(p.tints[idx(' Hungary')], { value: 4, hue: 'geography' });
    assert.deepEqual(p.tints[idx(',')], { value: 2, hue: 'punctuation' });
    assert.deepEqual(p.tints[idx('P')], { value: 0.5, hue: 'other' });
    assert.deepEqual(
      p.labels.flatMap((l, i) => (l === undefined ? [] : [[view.tokens.tokens[i].text, l]])),
      [
        [' Hungary', 0],
        [' Romania', 0],
      ],
    );
    assert.deepEqual(paintInput(s, { enabled: false, threshold: 0 }).labels, []);
  });
});

test('highlight mode paints one latent\'s values in the highlight hue, without labels', () => {
  withRun(0, (view) => {
    const values = view.tokens.tokens.map((t) => (t.text === ' from' ? 1 : 0));
    const p = paintInput({ ...newDocState('u', view), highlight: { latent: 3, values } }, { enabled: true, threshold: 0 });
    assert.deepEqual(p.tints.map((t) => t.value), values);
    assert.ok(p.tints.every((t) => t.hue === 'highlight'));
    assert.deepEqual(p.labels, []);
    assert.equal(TEXT.slice(p.spans[4]!.start, p.spans[4]!.end), ' from');
  });
});
