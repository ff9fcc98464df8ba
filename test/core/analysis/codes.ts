import type { SparseCodes } from '../../../src/core/sae/types';

/** CSR codes from a dense [T][L] matrix (zeros left out). */
export function csr(dense: number[][]): SparseCodes {
  const rowPtr = [0];
  const index: number[] = [];
  const value: number[] = [];
  for (const row of dense) {
    row.forEach((v, l) => {
      if (v !== 0) {
        index.push(l);
        value.push(v);
      }
    });
    rowPtr.push(index.length);
  }
  return { rowPtr: Int32Array.from(rowPtr), index: Int32Array.from(index), value: Float32Array.from(value) };
}
