import * as path from 'node:path';
import { UserError } from '../errors';
import { RUN_FILES, type RunContents } from '../run/runDir';
import { readSafetensors } from '../safetensors';
import type { SparseCodes } from '../sae/types';
import type { SaeDecoder } from './types';

/** The decoder of a run directory's SAE: W_dec [d_sae, d_in] and b_dec [d_in] of sae.safetensors. */
export function readRunDecoder(run: RunContents): SaeDecoder {
  const file = path.join(run.dir, RUN_FILES.sae);
  const { d_in: dIn, d_sae: dSae } = run.cfg.sae;
  const { tensors } = readSafetensors(file, ['W_dec', 'b_dec']);
  const wDec = tensors.get('W_dec')!;
  const bDec = tensors.get('b_dec')!;
  const fits = (t: typeof wDec, shape: number[]) => t.dtype === 'F32' && t.shape.length === shape.length && t.shape.every((s, i) => s === shape[i]);
  if (!fits(wDec, [dSae, dIn]) || !fits(bDec, [dIn])) {
    throw new UserError(
      `${file}: W_dec is ${wDec.dtype} [${wDec.shape.join(', ')}] and b_dec ${bDec.dtype} [${bDec.shape.join(', ')}], but cfg.json implies F32 [${dSae}, ${dIn}] and [${dIn}]. The run is damaged; train it again.`,
      'E_RUN',
    );
  }
  return { dSae, dIn, wDec: wDec.data as Float32Array, bDec: bDec.data as Float32Array };
}

/** Writes x̂_t = b_dec + Σ_j z_tj·W_dec[j] for tokens [from, to) into `out` [to − from, dIn]. */
export function reconstruct(decoder: SaeDecoder, codes: SparseCodes, from: number, to: number, out: Float32Array): void {
  const { dIn, wDec, bDec } = decoder;
  for (let t = from; t < to; t++) {
    const row = out.subarray((t - from) * dIn, (t - from + 1) * dIn);
    row.set(bDec);
    for (let e = codes.rowPtr[t]; e < codes.rowPtr[t + 1]; e++) {
      const z = codes.value[e];
      const base = codes.index[e] * dIn;
      for (let i = 0; i < dIn; i++) row[i] += z * wDec[base + i];
    }
  }
}
