import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveIndex, shiftSpans, tokenAt, type Span } from '../../../src/editor/document/spanShift';

// "The cat sat": tokens [0,3) [3,7) [7,11)
const spans: Span[] = [
  { start: 0, end: 3 },
  { start: 3, end: 7 },
  { start: 7, end: 11 },
];

test('an insertion inside a token drops it and shifts the tokens after it', () => {
  assert.deepEqual(shiftSpans(spans, [{ offset: 5, removed: 0, inserted: 2 }]), [{ start: 0, end: 3 }, null, { start: 9, end: 13 }]);
});

test('an insertion at a token boundary keeps both neighbours', () => {
  assert.deepEqual(shiftSpans(spans, [{ offset: 3, removed: 0, inserted: 4 }]), [
    { start: 0, end: 3 },
    { start: 7, end: 11 },
    { start: 11, end: 15 },
  ]);
});

test('a deletion across two tokens drops both; later tokens move back', () => {
  assert.deepEqual(shiftSpans([...spans, { start: 11, end: 15 }], [{ offset: 2, removed: 3, inserted: 0 }]), [null, null, { start: 4, end: 8 }, { start: 8, end: 12 }]);
});

test('a replacement exactly covering a token drops only that token', () => {
  assert.deepEqual(shiftSpans(spans, [{ offset: 3, removed: 4, inserted: 1 }]), [{ start: 0, end: 3 }, null, { start: 4, end: 8 }]);
});

test('several edits of one event (any order) apply as if from last to first', () => {
  const edits = [
    { offset: 0, removed: 0, inserted: 1 }, // before everything
    { offset: 11, removed: 0, inserted: 5 }, // at the end
    { offset: 8, removed: 1, inserted: 0 }, // inside the last token
  ];
  assert.deepEqual(shiftSpans(spans, edits), [{ start: 1, end: 4 }, { start: 4, end: 8 }, null]);
});

test('an empty span (leading bytes of a character) goes with its character', () => {
  const emoji: Span[] = [
    { start: 0, end: 1 },
    { start: 1, end: 1 },
    { start: 1, end: 3 },
  ];
  assert.deepEqual(shiftSpans(emoji, [{ offset: 1, removed: 0, inserted: 2 }]), [
    { start: 0, end: 1 },
    { start: 3, end: 3 },
    { start: 3, end: 5 },
  ]);
  assert.deepEqual(shiftSpans(emoji, [{ offset: 1, removed: 2, inserted: 0 }]), [{ start: 0, end: 1 }, null, null]);
});

test('tokenAt finds the live token under an offset', () => {
  const shifted = shiftSpans(spans, [{ offset: 5, removed: 0, inserted: 2 }]);
  const live = liveIndex(shifted);
  assert.deepEqual(live, [0, 2]);
  assert.equal(tokenAt(shifted, live, 0), 0);
  assert.equal(tokenAt(shifted, live, 2), 0);
  assert.equal(tokenAt(shifted, live, 4), -1); // the dropped token
  assert.equal(tokenAt(shifted, live, 9), 2);
  assert.equal(tokenAt(shifted, live, 13), -1);
  const withEmpty: Span[] = [
    { start: 0, end: 1 },
    { start: 1, end: 1 },
    { start: 1, end: 3 },
  ];
  assert.equal(tokenAt(withEmpty, liveIndex(withEmpty), 1), 2);
});
