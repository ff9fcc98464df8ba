/**
 * Cross-layer matching: for each listed significant concept latent of a layer, the latent of a
 * neighbouring layer's SAE whose direction (unit length) has the largest cosine with its own — seed
 * stability's matching (analysis/stability.ts) across depth. A latent persists into the neighbour
 * when that cosine is ≥ the threshold.
 *
 * The directions compared (the basis):
 *   decoder  rows of W_dec, for SAEs trained independently (a release's per-layer SAEs);
 *   learned  rows of W_dec − W0ᵀ, what training changed, for SAEs trained here from the same
 *            initial W0 (same seed and shape, as every layer of a trained scan is). Their decoder
 *            rows start equal, and the presets' 100 epochs at lr 1e-4 move a row little (median
 *            cosine to its start 0.998 on GPT-2-Small-shaped activations), so raw decoder cosines
 *            between layers would mostly measure the shared start: each latent would match its own
 *            twin at ≈ 0.99 in every layer. The learned parts of twins are as unrelated as those of
 *            any two latents (median cosine 0.000 between layers 5 and 6 of the random model).
 * Each match also gives the raw decoder cosine of the matched pair.
 */
import * as path from 'node:path';
import { readReport } from '../analysis/reportFile';
import { bestMatch, unitRows } from '../analysis/stability';
import { ANALYSIS_FILE, type AnalysisReport } from '../analysis/types';
import { UserError } from '../errors';
import { readRunInfo, RUN_FILES } from '../run/runDir';
import { initWeights } from '../sae/init';
import { transpose } from '../sae/model';
import { readSafetensors } from '../safetensors';
import type { CrossMatch, LayerPair } from './format';

export type MatchBasis = 'decoder' | 'learned';

/** What matching reads of a done layer. */
export interface MatchSide {
  layer: number;
  report: AnalysisReport;
  wDec: Float32Array; // [dSae, dIn]
  units: Float32Array; // [dSae, dIn] unit rows of the basis
  dSae: number;
  dIn: number;
}

/**
 * A done layer's side of the matching, from its run directory (sae.safetensors' W_dec, analysis.json;
 * for the learned basis, W0 from cfg.json's seed and sizes, as sae/init.ts draws it).
 */
export function readMatchSide(layer: number, dir: string, basis: MatchBasis): MatchSide {
  const { tensors } = readSafetensors(path.join(dir, RUN_FILES.sae), ['W_dec']);
  const wDec = tensors.get('W_dec')!.data as Float32Array;
  const [dSae, dIn] = tensors.get('W_dec')!.shape;
  let directions = wDec;
  if (basis === 'learned') {
    const { cfg } = readRunInfo(dir);
    if (!cfg.train) throw new UserError(`run ${dir} was not trained here: it has no initial W0 to subtract; match it on the decoder basis.`, 'E_RUN');
    const w0t = transpose(initWeights(dIn, dSae, cfg.train.seed), dIn, dSae);
    directions = wDec.map((v, i) => v - w0t[i]);
  }
  return { layer, report: readReport(path.join(dir, ANALYSIS_FILE)), wDec, units: unitRows(directions, dSae, dIn), dSae, dIn };
}

/** Cosine of row i of a [·, d] and row j of b [·, d]. */
function rowCos(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < d; k++) {
    const x = a[i * d + k];
    const y = b[j * d + k];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** Significant as the analysis defines it: q ≤ alpha and support ≥ minSupport. */
function significant(r: AnalysisReport, latent: number): boolean {
  const q = r.latents.q[latent];
  return q !== null && q <= r.options.alpha && r.latents.support[latent] >= r.options.minSupport;
}

/** Matches of `from`'s listed significant latents in `to`. */
export function matchPair(from: MatchSide, to: MatchSide, threshold: number): LayerPair {
  if (from.dIn !== to.dIn) throw new UserError(`layers ${from.layer} and ${to.layer} read hooks of different widths (${from.dIn}, ${to.dIn}); their decoders cannot be compared.`, 'E_SHAPE');
  const latents: CrossMatch[] = from.report.conceptList.map((e) => {
    const m = bestMatch(from.units.subarray(e.latent * from.dIn, (e.latent + 1) * from.dIn), to.units, to.dIn, to.dSae);
    const cos = Number(m.cos.toFixed(6));
    const t = to.report.latents;
    return {
      latent: e.latent,
      q: e.q,
      effect: e.effect,
      match: {
        latent: m.latent,
        cos,
        decoderCos: Number(rowCos(from.wDec, e.latent, to.wDec, m.latent, to.dIn).toFixed(6)),
        significant: significant(to.report, m.latent),
        q: t.q[m.latent],
        effect: t.effect[m.latent],
      },
      persists: cos >= threshold,
    };
  });
  return { from: from.layer, to: to.layer, latents };
}

/** Neighbouring layers of an ascending list, both directions: [a, b], [b, a], [b, c], [c, b], … */
export function neighbourPairs(layers: readonly number[]): [number, number][] {
  return layers.slice(1).flatMap((b, i) => [[layers[i], b] as [number, number], [b, layers[i]] as [number, number]]);
}
