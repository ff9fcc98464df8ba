import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Eta } from '../../src/shared/eta';

test('no estimate from the first unit alone: it carries the warm-up', () => {
  const eta = new Eta();
  assert.equal(eta.next(1, 100, 2000), undefined); // epoch 1 after a 2 s warm-up
  assert.equal(eta.next(2, 100, 2100), 98 * 100); // then 100 ms per epoch: 9.8 s, not 98 × 2.1 s
});

test('the pace is that of the most recent units', () => {
  const eta = new Eta(2);
  eta.next(1, 10, 0);
  eta.next(2, 10, 1000);
  eta.next(3, 10, 2000); // 1 s per unit so far
  eta.next(4, 10, 2100);
  assert.equal(eta.next(5, 10, 2200), 5 * 100); // the last two units took 100 ms each
});

test('counts that start over, or that do not move, give no estimate', () => {
  const eta = new Eta();
  eta.next(5, 10, 0);
  eta.next(6, 10, 100);
  assert.equal(eta.next(1, 10, 200), undefined);
  assert.equal(eta.next(1, 10, 300), undefined);
  assert.equal(eta.next(3, 10, 400), 7 * 100);
  assert.equal(eta.next(10, 10, 500), 0);
});
