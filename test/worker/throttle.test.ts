import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { ProgressEvent } from '../../src/shared/protocol';
import { throttled } from '../../src/worker/throttle';

const epoch = (done: number): ProgressEvent => ({ jobId: 'j', phase: 'train', message: 'training', done, total: 100, unit: 'epoch' });

test('a new phase and the last unit go at once; in between only the latest, once per interval', async () => {
  const sent: ProgressEvent[] = [];
  const t = throttled((p) => sent.push(p), 50);
  t.send({ jobId: 'j', phase: 'extract', message: 'extracting' });
  for (let e = 1; e <= 20; e++) t.send(epoch(e));
  assert.deepEqual(sent.map((p) => p.done), [undefined, 1]); // the phase change, then nothing within 50 ms
  await delay(80);
  assert.deepEqual(sent.map((p) => p.done), [undefined, 1, 20]); // the latest, when its turn came
  t.send(epoch(100));
  assert.equal(sent[sent.length - 1].done, 100);
  t.send(epoch(99));
  t.end(); // the job ended: nothing pending is sent after it
  await delay(80);
  assert.equal(sent[sent.length - 1].done, 100);
});
