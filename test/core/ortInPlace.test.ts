import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/core/onnx/builder';
import { addNoCopyOutput, NO_COPY_OUTPUT, NOT_A_TENSOR, runInPlace } from '../../src/core/ortInPlace';

/** a [3] → no_copy, b = a + 1, c = 2·a. */
async function session(): Promise<ort.InferenceSession> {
  const g = new GraphBuilder('in_place');
  addNoCopyOutput(g);
  const a = g.input('a', 'float', [3]);
  g.output(g.node('Add', [a, g.scalar(1)], {}, ['b']), 'float', [3]);
  g.output(g.node('Mul', [a, g.scalar(2)], {}, ['c']), 'float', [3]);
  return ort.InferenceSession.create(g.toBytes(17), { executionProviders: ['cpu'] });
}

const f32 = (v: number[]) => new ort.Tensor('float32', Float32Array.from(v), [v.length]);

test('onnxruntime-node still fills preallocated outputs and then throws on the sequence output (the no-copy trick of ortInPlace.ts)', async () => {
  const s = await session();
  const b = f32([0, 0, 0]);
  const c = f32([0, 0, 0]);
  const bBuffer = b.data;
  let thrown: unknown;
  try {
    await s.run({ a: f32([1, 2, 3]) }, { [NO_COPY_OUTPUT]: null, b, c });
  } catch (e) {
    thrown = e;
  }
  await s.release();
  assert.ok(
    thrown instanceof Error && NOT_A_TENSOR.test(thrown.message),
    `onnxruntime-node ${ort.env.versions.node} no longer stops at the sequence output (${thrown === undefined ? 'it returned normally' : String(thrown)}): ` +
      'runInPlace still gives correct results, but the binding may copy every output again; re-measure `npm run bench:train` and revisit src/core/ortInPlace.ts.',
  );
  assert.equal(b.data, bBuffer, 'the preallocated tensor keeps its buffer');
  assert.deepEqual(Array.from(b.data as Float32Array), [2, 3, 4], 'the run wrote b in place before the binding stopped');
  assert.deepEqual(Array.from(c.data as Float32Array), [2, 4, 6], 'the run wrote c in place before the binding stopped');
});

test('runInPlace resolves with every preallocated output filled, and passes other errors on', async () => {
  const s = await session();
  const b = f32([0, 0, 0]);
  const c = f32([0, 0, 0]);
  await runInPlace(s, { a: f32([-1, 0, 5]) }, { b, c });
  assert.deepEqual(Array.from(b.data as Float32Array), [0, 1, 6]);
  assert.deepEqual(Array.from(c.data as Float32Array), [-2, 0, 10]);
  await assert.rejects(runInPlace(s, { a: f32([1, 2]) }, { b, c }), (e: unknown) => e instanceof Error && !NOT_A_TENSOR.test(e.message));
  await s.release();
});
