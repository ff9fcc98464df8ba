import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressLine, progressPercent } from '../../../src/editor/status/progressText';
import type { ProgressEvent } from '../../../src/shared/protocol';

const ev = (over: Partial<ProgressEvent>): ProgressEvent => ({ jobId: 'j', phase: 'train', message: '', ...over });

test('percent grows through the phases and with epochs, tokens and bytes', () => {
  assert.equal(progressPercent(ev({ phase: 'load' })), 0);
  assert.equal(progressPercent(ev({ phase: 'download', done: 50, total: 100, unit: 'byte' })), 2.5);
  assert.equal(progressPercent(ev({ phase: 'extract', done: 1000, total: 3000, unit: 'token' })), 9);
  assert.equal(progressPercent(ev({ phase: 'train', done: 0, total: 100, unit: 'epoch' })), 15);
  assert.equal(progressPercent(ev({ phase: 'train', done: 50, total: 100, unit: 'epoch' })), 52.5);
  assert.equal(progressPercent(ev({ phase: 'train', done: 100, total: 100, unit: 'epoch' })), 90);
  assert.equal(progressPercent(ev({ phase: 'analyze' })), 93);
  assert.equal(progressPercent(ev({ phase: 'evidence', done: 10, total: 40, unit: 'forward' })), 25);
});

test('lines for people: the phase in words, its count and the time left once it is known', () => {
  assert.equal(progressLine(ev({ message: 'x', done: 12, total: 100, unit: 'epoch', loss: 0.013245, etaMs: 3400 })), 'epoch 12/100 · loss 0.0132 · about 3 s left');
  assert.equal(progressLine(ev({ message: 'x', done: 1, total: 2, unit: 'epoch', etaMs: 125_000 })), 'epoch 1/2 · about 2 min 5 s left');
  assert.equal(progressLine(ev({ message: 'x', done: 1, total: 100, unit: 'epoch' })), 'epoch 1/100', 'no estimate after the first epoch');
  assert.equal(progressLine(ev({ phase: 'download', message: 'downloading GPT-2 Small: model.safetensors', done: 120e6, total: 548e6, unit: 'byte', etaMs: 40_000 })), 'downloading GPT-2 Small: model.safetensors · 120 MB of 548 MB · about 40 s left');
  assert.equal(progressLine(ev({ phase: 'extract', message: 'extracting blocks.6.hook_mlp_out activations', done: 3072, total: 11243, unit: 'token', etaMs: 14_000 })), 'extracting blocks.6.hook_mlp_out activations · 3072 of 11243 tokens · about 14 s left');
  assert.equal(progressLine(ev({ phase: 'scan', message: 'reading the files', done: 2, total: 5, unit: 'file' })), 'reading the files · file 2 of 5');
  assert.equal(progressLine(ev({ phase: 'load', message: 'loading GPT-2 Small' })), 'loading GPT-2 Small');
  assert.equal(progressLine(ev({ phase: 'stability', message: 'training seed 2 (1 of 4 more)', done: 0.5, total: 4, unit: 'seed', etaMs: 9000 })), 'training seed 2 (1 of 4 more) · 12 % · about 9 s left');
});
