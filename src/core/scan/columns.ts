/** How a scan's numbers are shown, the same in the terminal, the report and the latent browser. */
import type { LayerRow, ScanJson } from './format';

export const num = (v: number | null, digits = 3) => (v === null ? '—' : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(digits) : v.toExponential(1));
const share = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(0)} %`);

/** The columns every view of a scan shows (the report, the latent browser's layer view). */
export const SCAN_COLUMNS: { head: string; cell: (r: LayerRow) => string }[] = [
  { head: 'FVE', cell: (r) => num(r.fve) },
  { head: 'L0', cell: (r) => r.l0.toFixed(1) },
  { head: 'dead', cell: (r) => `${r.deadPct.toFixed(1)} %` },
  { head: 'CE recovered', cell: (r) => num(r.ceRecovered) },
  { head: 'significant', cell: (r) => String(r.significant) },
  { head: 'best latent', cell: (r) => (r.best ? `#${r.best.latent}` : '—') },
  { head: 'its effect', cell: (r) => num(r.best?.effect ?? null, 2) },
  { head: 'its q', cell: (r) => num(r.best?.q ?? null) },
  { head: 'punct.-firing', cell: (r) => share(r.punctuationShare) },
  { head: 'proxies', cell: (r) => share(r.proxyShare) },
];

/**
 * The series of the chart across layers: on the left axis the shares and the best latent's numbers,
 * all within [−1, 1] (FVE, CE recovered, dead, punctuation-firing and proxy shares, the best
 * latent's rank-biserial effect and its q); on the right axis the counts (significant latents, as
 * bars, and L0). null: no value for that layer (no evidence, nothing significant).
 */
export function scanChartSeries(rows: LayerRow[]) {
  return {
    labels: rows.map((r) => `L${r.layer}`),
    shares: [
      { label: 'FVE', data: rows.map((r) => r.fve) },
      { label: 'CE recovered', data: rows.map((r) => r.ceRecovered) },
      { label: 'dead', data: rows.map((r) => r.deadPct / 100) },
      { label: 'punct.-firing', data: rows.map((r) => r.punctuationShare) },
      { label: 'proxies', data: rows.map((r) => r.proxyShare) },
      { label: 'best effect', data: rows.map((r) => r.best?.effect ?? null) },
      { label: 'best q', data: rows.map((r) => r.best?.q ?? null) },
    ],
    significant: rows.map((r) => r.significant),
    l0: rows.map((r) => r.l0),
  };
}

export type ScanChartSeries = ReturnType<typeof scanChartSeries>;

/** What the matching compares, in words (match.ts explains why). */
export const BASIS_TEXT: Record<ScanJson['matching']['basis'], string> = {
  decoder: 'decoder direction (unit row of W_dec)',
  learned:
    'learned direction (row of W_dec minus its initial value: every layer starts from the same seed, and the little training moves a decoder row so little that raw decoder cosines would mostly measure that shared start)',
};
