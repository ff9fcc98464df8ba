import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKETS, bucketOf, intensity, maxOf, planTints } from '../../../src/editor/decorations/tint';

test('intensity is (v / max)², clamped, 0 for non-positive input', () => {
  assert.equal(intensity(5, 10), 0.25);
  assert.equal(intensity(10, 10), 1);
  assert.equal(intensity(20, 10), 1);
  assert.equal(intensity(0, 10), 0);
  assert.equal(intensity(-1, 10), 0);
  assert.equal(intensity(3, 0), 0);
  assert.equal(intensity(Number.NaN, 1), 0);
});

test('buckets split (0, 1] into equal quarters, 0 stays untinted', () => {
  assert.equal(BUCKETS, 4);
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(1e-6), 1);
  assert.equal(bucketOf(0.25), 1);
  assert.equal(bucketOf(0.2500001), 2);
  assert.equal(bucketOf(0.5), 2);
  assert.equal(bucketOf(0.75), 3);
  assert.equal(bucketOf(0.9), 4);
  assert.equal(bucketOf(1), 4);
  assert.equal(bucketOf(Number.NaN), 0);
});

test('planTints groups tokens by hue and bucket', () => {
  const plan = planTints(
    [
      { value: 10, hue: 'geography' },
      { value: 5, hue: 'geography' }, // 0.25 → bucket 1
      { value: 0, hue: 'other' }, // untinted
      { value: 8, hue: 'punctuation' }, // 0.64 → bucket 3
      { value: 7.2, hue: 'other' }, // 0.5184 → bucket 3
    ],
    10,
  );
  assert.deepEqual(plan.geography, [[1], [], [], [0]]);
  assert.deepEqual(plan.punctuation, [[], [], [3], []]);
  assert.deepEqual(plan.other, [[], [], [4], []]);
  assert.deepEqual(plan.highlight, [[], [], [], []]);
});

test('maxOf', () => {
  assert.equal(maxOf([]), 0);
  assert.equal(maxOf([1, 3, 2]), 3);
  assert.equal(maxOf(new Float32Array([-1, -2])), 0);
});
