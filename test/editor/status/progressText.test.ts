import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressLine, progressPercent } from '../../../src/editor/status/progressText';

test('percent grows through the phases and with epochs and bytes', () => {
  const at = (e: Parameters<typeof progressPercent>[0]) => progressPercent(e);
  assert.equal(at({ jobId: 'j', phase: 'download', message: '' }), 0);
  assert.equal(at({ jobId: 'j', phase: 'download', message: '', bytesDone: 50, bytesTotal: 100 }), 2.5);
  assert.equal(at({ jobId: 'j', phase: 'train', message: '', epoch: 0, epochs: 100 }), 15);
  assert.equal(at({ jobId: 'j', phase: 'train', message: '', epoch: 50, epochs: 100 }), 52.5);
  assert.equal(at({ jobId: 'j', phase: 'train', message: '', epoch: 100, epochs: 100 }), 90);
  assert.equal(at({ jobId: 'j', phase: 'analyze', message: '' }), 93);
});

test('lines for people', () => {
  assert.equal(progressLine({ jobId: 'j', phase: 'train', message: 'x', epoch: 12, epochs: 100, loss: 0.013245, etaMs: 3400 }), 'epoch 12/100 · loss 0.0132 · about 3 s left');
  assert.equal(progressLine({ jobId: 'j', phase: 'train', message: 'x', epoch: 1, epochs: 2, etaMs: 125_000 }), 'epoch 1/2 · about 2 min 5 s left');
  assert.equal(progressLine({ jobId: 'j', phase: 'download', message: 'downloading model.safetensors', bytesDone: 120e6, bytesTotal: 548e6 }), 'downloading model.safetensors (120 MB of 548 MB)');
  assert.equal(progressLine({ jobId: 'j', phase: 'extract', message: 'extracting' }), 'extracting');
});
