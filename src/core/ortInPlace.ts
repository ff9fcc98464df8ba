/**
 * Runs an onnxruntime-node session into preallocated outputs without the binding copying them back.
 *
 * onnxruntime-node 1.30 copies every output of a run into a new ArrayBuffer, a preallocated output
 * too (after ORT has written it in place): for the SAE train step's Wᵀ, m and v that is 57 MB per
 * step on workload S and about 13 ms of allocation, copying and garbage collection. The binding
 * converts the outputs in the graph's order and throws on a non-tensor before converting the rest,
 * so a graph whose first output is an empty tensor sequence (addNoCopyOutput) has every other,
 * preallocated, output filled in place by the run, after which the binding stops with this error
 * and copies nothing. test/core/ortInPlace.test.ts fails loudly if an onnxruntime-node upgrade
 * changes that; a binding that returns normally gives the same results, only slower.
 */
import type * as ort from 'onnxruntime-node';
import type { GraphBuilder } from './onnx/builder';

/** The first output of a graph run with runInPlace: an empty sequence that no caller reads. */
export const NO_COPY_OUTPUT = 'no_copy';

/** The binding's message when it meets the sequence output. */
export const NOT_A_TENSOR = /Non tensor type/;

/** Declares NO_COPY_OUTPUT; call it before declaring any other output. */
export function addNoCopyOutput(g: GraphBuilder): void {
  g.sequenceOutput(g.node('SequenceEmpty', [], { dtype: 1 }, [NO_COPY_OUTPUT]), 'float');
}

/** Runs `session` with every output in `outputs` preallocated; they hold the results afterwards. */
export async function runInPlace(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, outputs: Record<string, ort.Tensor>): Promise<void> {
  try {
    await session.run(feeds, { [NO_COPY_OUTPUT]: null, ...outputs });
  } catch (e) {
    if (!NOT_A_TENSOR.test((e as Error).message)) throw e;
  }
}
