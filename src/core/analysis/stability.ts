import { UserError } from '../errors';
import { transpose } from '../sae/model';
import type { AnalysisReport } from './types';

/**
 * Seed stability (the seed's "hyperparameter sensitivity"): SAEs trained on the same activations with
 * different seeds, and for each compared latent of run 0 its best match in every other run by cosine
 * similarity of decoder directions (columns of W [d_in, n_latents]; the decoder is Wᵀ). The compared
 * latents are run 0's concept list (significant) followed by its not-significant candidates, the first
 * `top` of them: each says which it is. A latent recurs in a run when that best cosine is ≥ the
 * threshold (0.9 by default).
 */
export const STABILITY_VERSION = 2;
export const STABILITY_FILE = 'stability.json';
export const DEFAULT_RECUR_COSINE = 0.9;

export interface StabilityRun {
  seed: number;
  w: Float32Array; // [dIn, nLatents] row-major
  report: AnalysisReport;
  /** Run directory, when the run was written. */
  dir?: string;
}

export interface LatentMatch {
  seed: number;
  /** Best-matching latent of that run and its cosine with the run-0 latent. */
  latent: number;
  cos: number;
  recurs: boolean;
  /** The matched latent's concept score (null: only on concept tokens) and q in its own run's analysis, and whether that run lists it as significant. */
  score: number | null;
  q: number | null;
  listed: boolean;
}

export interface LatentStability {
  latent: number;
  /** In run 0's concept list (q ≤ alpha, support ≥ minSupport); false: a not-significant candidate. */
  significant: boolean;
  score: number | null;
  q: number | null;
  matches: LatentMatch[];
  /** Share of the other runs in which it recurs. */
  recurrence: number;
}

export interface StabilityReport {
  version: number;
  threshold: number;
  dIn: number;
  nLatents: number;
  seeds: number[];
  runs: { seed: number; dir?: string; conceptTokens: number; significant: number }[];
  concept: string;
  latents: LatentStability[];
  /** Share of the compared latents that recur in every other run. */
  recurInAll: number;
  /** Per other run, the share of those latents that recur in it. */
  perRun: { seed: number; share: number }[];
}

/** Rows of m [n, d] scaled to unit length, in place (a zero row stays zero). */
function normaliseRows(m: Float32Array, n: number, d: number): Float32Array {
  for (let l = 0, o = 0; l < n; l++, o += d) {
    let norm = 0;
    for (let i = 0; i < d; i++) norm += m[o + i] * m[o + i];
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < d; i++) m[o + i] *= inv;
  }
  return m;
}

/** Columns of W [dIn, nLatents] as unit rows [nLatents, dIn] (a zero column stays zero). */
export function unitColumns(w: Float32Array, dIn: number, nLatents: number): Float32Array {
  return normaliseRows(transpose(w, dIn, nLatents), nLatents, dIn);
}

/** A decoder W_dec [nLatents, dIn] (an SAE model's, whatever its origin) as unit rows [nLatents, dIn]. */
export function unitRows(wDec: Float32Array, nLatents: number, dIn: number): Float32Array {
  return normaliseRows(Float32Array.from(wDec), nLatents, dIn);
}

/** The latent of `units` [nLatents, dIn] with the largest cosine to unit vector `q` [dIn]. */
export function bestMatch(q: Float32Array, units: Float32Array, dIn: number, nLatents: number): { latent: number; cos: number } {
  let best = -1;
  let cos = -Infinity;
  for (let l = 0; l < nLatents; l++) {
    let dot = 0;
    for (let i = 0, o = l * dIn; i < dIn; i++) dot += q[i] * units[o + i];
    if (dot > cos) {
      cos = dot;
      best = l;
    }
  }
  return { latent: best, cos };
}

export function seedStability(runs: StabilityRun[], dIn: number, nLatents: number, threshold = DEFAULT_RECUR_COSINE): StabilityReport {
  if (runs.length < 2) throw new UserError(`seed stability needs at least 2 runs, got ${runs.length}; pass --seeds 2 or more.`, 'E_USAGE');
  if (!(threshold > -1 && threshold <= 1)) throw new UserError(`the recurrence threshold must be a cosine in (−1, 1], got ${threshold}.`, 'E_USAGE');
  for (const r of runs) {
    if (r.w.length !== dIn * nLatents) throw new UserError(`run with seed ${r.seed} has W of ${r.w.length} values, not d_in × latents = ${dIn * nLatents}; every run must share the SAE shape.`, 'E_SHAPE');
  }
  const [first, ...others] = runs;
  const base = unitColumns(first.w, dIn, nLatents);
  const otherUnits = others.map((r) => unitColumns(r.w, dIn, nLatents));
  const compared = [...first.report.conceptList.map((e) => ({ e, significant: true })), ...first.report.conceptCandidates.map((e) => ({ e, significant: false }))].slice(0, first.report.options.top);
  const latents: LatentStability[] = compared.map(({ e, significant }) => {
    const q = base.subarray(e.latent * dIn, (e.latent + 1) * dIn);
    const matches = others.map((r, i) => {
      const m = bestMatch(q, otherUnits[i], dIn, nLatents);
      const cos = Number(m.cos.toFixed(6));
      return {
        seed: r.seed,
        latent: m.latent,
        cos,
        recurs: cos >= threshold,
        score: r.report.latents.score[m.latent],
        q: r.report.latents.q[m.latent],
        listed: r.report.conceptList.some((x) => x.latent === m.latent),
      };
    });
    return { latent: e.latent, significant, score: e.score, q: e.q, matches, recurrence: matches.filter((m) => m.recurs).length / matches.length };
  });
  const share = (xs: boolean[]) => (xs.length === 0 ? 0 : xs.filter(Boolean).length / xs.length);
  return {
    version: STABILITY_VERSION,
    threshold,
    dIn,
    nLatents,
    seeds: runs.map((r) => r.seed),
    runs: runs.map((r) => ({ seed: r.seed, dir: r.dir, conceptTokens: r.report.summary.conceptTokens, significant: r.report.summary.significant })),
    concept: first.report.concept.name,
    latents,
    recurInAll: share(latents.map((l) => l.matches.every((m) => m.recurs))),
    perRun: others.map((r, i) => ({ seed: r.seed, share: share(latents.map((l) => l.matches[i].recurs)) })),
  };
}

/** The stability result as terminal text. */
export function formatStability(s: StabilityReport): string {
  const out: string[] = [];
  const n = s.latents.length;
  out.push(`seeds ${s.seeds.join(', ')}: ${s.nLatents} latents on d_in ${s.dIn}; concept "${s.concept}"; a latent recurs when its best decoder cosine in a run is ≥ ${s.threshold}`);
  if (n === 0) {
    out.push('run 0 has no latent firing on a concept token: nothing to compare.');
    return out.join('\n');
  }
  const others = s.seeds.slice(1);
  out.push(`  latent  signif.   score        q  ${others.map((seed) => `seed ${seed}: match cos`.padStart(22)).join('')}  recurs`);
  for (const l of s.latents) {
    const q = l.q === null ? '—' : l.q < 1e-3 ? l.q.toExponential(1) : l.q.toFixed(3);
    const cells = l.matches.map((m) => `${m.latent} ${m.cos.toFixed(3)}${m.recurs ? '*' : ' '}`.padStart(22)).join('');
    out.push(`  ${String(l.latent).padStart(6)}  ${(l.significant ? 'yes' : 'no').padStart(7)}  ${(l.score === null ? 'only c.' : l.score.toFixed(3)).padStart(6)}  ${q.padStart(7)}  ${cells}  ${l.matches.filter((m) => m.recurs).length}/${l.matches.length}`);
  }
  if (s.latents.some((l) => l.score === null)) out.push('  (only c.: fires on concept tokens only, where the lab\'s ratio score is undefined)');
  const recurAll = Math.round(s.recurInAll * n);
  const significant = s.latents.filter((l) => l.significant).length;
  out.push(`${recurAll} of ${n} compared latents (${(100 * s.recurInAll).toFixed(0)} %) recur in every other seed (${significant} of them significant); per seed: ${s.perRun.map((r) => `${r.seed}: ${(100 * r.share).toFixed(0)} %`).join(', ')}`);
  return out.join('\n');
}
