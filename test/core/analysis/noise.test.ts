import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toColumns } from '../../../src/core/analysis/columns';
import { isProxy, noiseProfile, punctuationFiring } from '../../../src/core/analysis/noise';
import { classifyTokens, isPunctuation, isStopword } from '../../../src/core/analysis/tokenClasses';
import { csr } from '../../fixtures/csr';

test('token classes: punctuation/whitespace-only tokens and stopwords', () => {
  for (const t of ['(', ',', ' —', '\n\n', ' $', '."', ' ']) assert.ok(isPunctuation(t), JSON.stringify(t));
  for (const t of ['', ' the', 'a,', '7', ' Hungary']) assert.ok(!isPunctuation(t), JSON.stringify(t));
  for (const t of [' the', 'The', ' of', "'s", '’s', ' and']) assert.ok(isStopword(t), JSON.stringify(t));
  for (const t of [' Hungary', ',', ' brandy']) assert.ok(!isStopword(t), JSON.stringify(t));
});

test('noise profile: shares of activation mass on punctuation, stopwords and the first token', () => {
  const tokens = ['Pál', 'inka', ' is', ',', ' made', '('].map((text) => ({ text }));
  // latent 0: mass 1 on token 0, 3 on ",", 1 on " is", 5 on "(" → punct 8/10, stop 1/10, first 1/10.
  // latent 1: only on " made". latent 2: dead.
  const dense = [
    [1, 0, 0],
    [0, 0, 0],
    [1, 0, 0],
    [3, 0, 0],
    [0, 4, 0],
    [5, 0, 0],
  ];
  const n = noiseProfile(toColumns(csr(dense), 6, 3), classifyTokens(tokens));
  assert.deepEqual(Array.from(n.mass), [10, 4, 0]);
  assert.deepEqual(Array.from(n.punctuationShare), [0.8, 0, 0]);
  assert.deepEqual(Array.from(n.stopwordShare), [0.1, 0, 0]);
  assert.deepEqual(Array.from(n.firstTokenShare), [0.1, 0, 0]);
  assert.deepEqual(punctuationFiring(n, 0.5), [0]);
  assert.deepEqual(punctuationFiring(n, 0.9), []);
  assert.equal(isProxy(n, 0, 0.3), true);
  assert.equal(isProxy(n, 1, 0.3), false);
});

test('punctuation-firing latents are ranked by punctuation mass, not share', () => {
  const tokens = [',', '.', ' x'].map((text) => ({ text }));
  const dense = [
    [1, 5],
    [0, 5],
    [0, 2],
  ];
  const n = noiseProfile(toColumns(csr(dense), 3, 2), classifyTokens(tokens));
  assert.equal(n.punctuationShare[0], 1);
  assert.ok(n.punctuationShare[1] < 1);
  assert.deepEqual(punctuationFiring(n, 0.5), [1, 0]);
});
