import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeExit } from '../../../src/editor/worker/exit';

test('out of memory is recognised from the worker\'s last stderr lines', () => {
  const m = describeExit({ code: 134, signal: null, stderrTail: '<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' });
  assert.match(m, /ran out of memory/);
  assert.match(m, /latentLens\.maxTokens/);
});

test('a kill, another signal and an exit code each say what happened and what to do', () => {
  assert.match(describeExit({ code: null, signal: 'SIGKILL', stderrTail: '' }), /killed \(SIGKILL\).*Run the command again/);
  assert.match(describeExit({ code: null, signal: 'SIGSEGV', stderrTail: '' }), /signal SIGSEGV/);
  assert.match(describeExit({ code: 3, signal: null, stderrTail: 'boom' }), /exit code 3.*Show Log/);
});
