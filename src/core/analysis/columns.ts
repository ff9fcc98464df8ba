import { UserError } from '../errors';
import type { SparseCodes } from '../sae/types';

/**
 * Sparse codes transposed to latent-major order (CSC): every analysis walks one latent's firing
 * tokens, and only those. Explicit zeros of the CSR input are dropped.
 */
export interface LatentColumns {
  nTokens: number;
  nLatents: number;
  colPtr: Int32Array; // [nLatents + 1]
  token: Int32Array; // [nnz] token indices, ascending within a column
  value: Float32Array; // [nnz] non-zero activations
}

/** Checks that CSR codes describe `nTokens` rows over `nLatents` latents; `what` names the source in errors. */
export function checkCodes(codes: SparseCodes, nTokens: number, nLatents: number, what: string): void {
  const { rowPtr, index, value } = codes;
  const fix = 'the codes and the tokens must come from the same run; re-run the training to rewrite both.';
  if (rowPtr.length !== nTokens + 1) {
    throw new UserError(`${what}: row_ptr has ${rowPtr.length} entries, expected ${nTokens + 1} (one per token + 1); ${fix}`, 'E_SHAPE');
  }
  const nnz = rowPtr[nTokens];
  if (rowPtr[0] !== 0 || nnz !== index.length || nnz !== value.length) {
    throw new UserError(`${what}: row_ptr ends at ${nnz} but there are ${index.length} indices and ${value.length} values; ${fix}`, 'E_SHAPE');
  }
  for (let t = 0; t < nTokens; t++) {
    if (rowPtr[t + 1] < rowPtr[t]) throw new UserError(`${what}: row_ptr decreases at token ${t}; ${fix}`, 'E_SHAPE');
  }
  for (let j = 0; j < nnz; j++) {
    const l = index[j];
    if (!(l >= 0 && l < nLatents)) throw new UserError(`${what}: latent index ${l} is outside [0, ${nLatents}); ${fix}`, 'E_SHAPE');
    if (!Number.isFinite(value[j])) throw new UserError(`${what}: activation ${value[j]} at latent ${l} is not finite; ${fix}`, 'E_SHAPE');
  }
}

export function toColumns(codes: SparseCodes, nTokens: number, nLatents: number): LatentColumns {
  const { rowPtr, index, value } = codes;
  const colPtr = new Int32Array(nLatents + 1);
  for (let j = 0; j < rowPtr[nTokens]; j++) if (value[j] !== 0) colPtr[index[j] + 1]++;
  for (let l = 0; l < nLatents; l++) colPtr[l + 1] += colPtr[l];
  const nnz = colPtr[nLatents];
  const token = new Int32Array(nnz);
  const val = new Float32Array(nnz);
  const fill = colPtr.slice(0, nLatents);
  for (let t = 0; t < nTokens; t++) {
    for (let j = rowPtr[t]; j < rowPtr[t + 1]; j++) {
      if (value[j] === 0) continue;
      const at = fill[index[j]]++;
      token[at] = t;
      val[at] = value[j];
    }
  }
  return { nTokens, nLatents, colPtr, token, value: val };
}
