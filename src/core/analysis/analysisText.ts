import { formatEvidence } from '../evidence/evidenceText';
import type { AnalysisReport, ListedLatent } from './types';

/** The analysis as terminal text: summary, messages, both lists (what `latent-lens analyze` and `train` print). */

const num = (v: number | null, d = 3) => (v === null ? '—' : v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(1) : v.toFixed(d));
const pct = (v: number) => `${(100 * v).toFixed(0)}%`;

/** A short excerpt of a latent's strongest tokens, each JSON-quoted so whitespace and newlines show. */
export function tokenExcerpt(e: ListedLatent, n = 4, width = 40): string {
  const s = e.topTokens.slice(0, n).map((t) => JSON.stringify(t.text)).join(' ');
  return s.length > width ? `${s.slice(0, width - 1)}…` : s;
}

function table(header: string[], rows: string[][]): string[] {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(w[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The lab's score, or "only c." when the latent fires on concept tokens only (the ratio is undefined). */
const scoreText = (e: ListedLatent) => (e.score === null ? 'only c.' : num(e.score));

function conceptTable(rows: ListedLatent[]): string[] {
  return table(
    ['#', 'latent', 'score', 'diff', 'p', 'q', 'support', 'effect', 'punct', 'stopw', 'proxy', 'top tokens'],
    rows.map((e, i) => [String(i + 1), String(e.latent), scoreText(e), num(e.diff), num(e.p), num(e.q), String(e.support), num(e.effect, 2), pct(e.punctuationShare), pct(e.stopwordShare), e.proxy ? 'PROXY' : '', tokenExcerpt(e)]),
  ).map((l) => `  ${l}`);
}

/** How the permutations were drawn, in one line. */
export function permutationText(report: AnalysisReport): string {
  const b = report.concept.permutation;
  if (!b) return 'no permutation test (no concept or no other token)';
  const refined = `${report.options.permutations} shared permutations, refined up to ${report.options.maxPermutations}`;
  if (b.length === 1) return `concept labels shuffled token by token (too few tested tokens for blocks); ${refined}`;
  return `concept labels permuted in ${b.count} blocks of ${b.length} consecutive tokens (lag-1 autocorrelation ${num(b.autocorrelation, 2)}, longest concept run ${b.longestRun}, ${b.cutRuns} run${b.cutRuns === 1 ? '' : 's'} cut); ${refined}`;
}

export function formatAnalysis(report: AnalysisReport, top = report.options.top): string {
  const s = report.summary;
  const c = report.concept;
  const o = report.options;
  const out: string[] = [];
  if (report.run.randomWeights) out.push('*** RANDOM WEIGHTS: a generated test model, not GPT-2; these latents mean nothing. ***');
  out.push(
    `${s.nTokens} tokens × ${s.nLatents} latents: layer density ${num(s.layerDensityPct, 1)}%, mean density ${num(s.meanDensityPct, 2)}%, ${s.dead} dead, ${s.alwaysOn} always-on, ${s.nearAlways} near-always`,
    `concept "${c.name}" (lexicon ${c.lexicon.name}): ${s.conceptTokens} concept tokens, ${c.matchedTerms.length}/${c.lexicon.terms} terms found; ${s.tested} latents tested (support ≥ ${o.minSupport}), ${s.significant} significant (q ≤ ${o.alpha})`,
    `test: mean activation on concept − other tokens (diff), one-sided; ${permutationText(report)}`,
  );
  for (const m of report.messages) out.push(`${m.level === 'warning' ? 'warning' : 'note'}: ${m.text}`);

  const concept = report.conceptList.slice(0, top);
  out.push('', `Top concept-selective latents (q ≤ ${o.alpha}, support ≥ ${o.minSupport}; by q, then effect; score = the lab's ratio of non-zero means, "only c." = fires on concept tokens only):`);
  if (concept.length === 0) out.push(`  (none: no latent passes q ≤ ${o.alpha} with support ≥ ${o.minSupport})`);
  else out.push(...conceptTable(concept));
  const candidates = report.conceptCandidates.slice(0, top);
  if (candidates.length > 0) {
    out.push('', `Not significant (other latents firing on concept tokens, best first; support < ${o.minSupport} is not tested, so it has no p):`);
    out.push(...conceptTable(candidates));
  }
  const punct = report.punctuationList.slice(0, top);
  out.push('', `Top punctuation-firing latents (≥ ${pct(o.punctuationThreshold)} of activation mass on punctuation/whitespace):`);
  if (punct.length === 0) out.push('  (none)');
  else {
    out.push(
      ...table(
        ['#', 'latent', 'punct mass', 'punct', 'stopw', 'density', 'top tokens'],
        punct.map((e, i) => [String(i + 1), String(e.latent), num(e.punctuationMass, 2), pct(e.punctuationShare), pct(e.stopwordShare), `${num(e.densityPct, 1)}%`, tokenExcerpt(e)]),
      ).map((l) => `  ${l}`),
    );
  }
  if (report.evidence) out.push('', 'unavailable' in report.evidence ? `No causal evidence: ${report.evidence.unavailable}` : formatEvidence(report.evidence));
  return out.join('\n');
}
