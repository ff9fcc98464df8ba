/**
 * Cross-layer matching: for each listed significant concept latent of a layer, the latent of a
 * neighbouring layer's SAE whose decoder direction (row of W_dec, unit length) has the largest
 * cosine with its own — seed stability's matching (analysis/stability.ts) across depth. A latent
 * persists into the neighbour when that cosine is ≥ the threshold.
 */
import * as path from 'node:path';
import { readReport } from '../analysis/reportFile';
import { bestMatch, unitRows } from '../analysis/stability';
import { ANALYSIS_FILE, type AnalysisReport } from '../analysis/types';
import { UserError } from '../errors';
import { RUN_FILES } from '../run/runDir';
import { readSafetensors } from '../safetensors';
import type { CrossMatch, LayerPair } from './format';

/** What matching reads of a done layer. */
export interface MatchSide {
  layer: number;
  report: AnalysisReport;
  units: Float32Array; // [dSae, dIn] unit decoder rows
  dSae: number;
  dIn: number;
}

/** A done layer's side of the matching, from its run directory (sae.safetensors' W_dec, analysis.json). */
export function readMatchSide(layer: number, dir: string): MatchSide {
  const { tensors } = readSafetensors(path.join(dir, RUN_FILES.sae), ['W_dec']);
  const w = tensors.get('W_dec')!;
  const [dSae, dIn] = w.shape;
  return { layer, report: readReport(path.join(dir, ANALYSIS_FILE)), units: unitRows(w.data as Float32Array, dSae, dIn), dSae, dIn };
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
      match: { latent: m.latent, cos, significant: significant(to.report, m.latent), q: t.q[m.latent], effect: t.effect[m.latent] },
      persists: cos >= threshold,
    };
  });
  return { from: from.layer, to: to.layer, latents };
}

/** Neighbouring layers of an ascending list, both directions: [a, b], [b, a], [b, c], [c, b], … */
export function neighbourPairs(layers: readonly number[]): [number, number][] {
  return layers.slice(1).flatMap((b, i) => [[layers[i], b] as [number, number], [b, layers[i]] as [number, number]]);
}
