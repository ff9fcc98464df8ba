/** The "Layer scan" section of each layer's report.html: the scan's table and chart, and this layer's latents across depth. */
import { escapeHtml, scriptJson, type ReportSection } from '../analysis/htmlReport';
import { BASIS_TEXT, num, SCAN_COLUMNS, scanChartSeries } from './columns';
import type { CrossMatch, ScanJson } from './format';

function matchCell(m: CrossMatch | undefined): string {
  if (!m) return '<td class="muted">—</td>';
  const what = `#${m.match.latent} cos ${m.match.cos.toFixed(3)} (decoder ${m.match.decoderCos.toFixed(3)})${m.match.significant ? `, significant (q ${num(m.match.q)})` : ', not significant'}`;
  return `<td${m.persists ? ' class="persists"' : ''}>${escapeHtml(what)}${m.persists ? ' ✓' : ''}</td>`;
}

/** This layer's listed significant latents with their best match in the previous and the next done layer. */
function acrossDepth(scan: ScanJson, layer: number): string {
  const pairs = scan.matching.pairs.filter((p) => p.from === layer);
  const prev = pairs.find((p) => p.to < layer);
  const next = pairs.find((p) => p.to > layer);
  const own = (prev ?? next)?.latents ?? [];
  if (!prev && !next) return '<p class="muted">No neighbouring layer is done yet: nothing to match.</p>';
  if (own.length === 0) return `<p class="muted">Layer ${layer} has no significant concept latent to follow across depth.</p>`;
  const rows = own
    .map((l, i) => `<tr><td>#${l.latent}</td><td>${num(l.q)}</td><td>${num(l.effect, 2)}</td>${matchCell(prev?.latents[i])}${matchCell(next?.latents[i])}</tr>`)
    .join('\n');
  return `<table><thead><tr><th>latent</th><th>q</th><th>effect</th><th>best match in layer ${prev?.to ?? '—'}</th><th>best match in layer ${next?.to ?? '—'}</th></tr></thead><tbody>
${rows}
</tbody></table>
<p class="muted">Best match: the neighbouring layer's latent whose ${escapeHtml(BASIS_TEXT[scan.matching.basis])} has the largest cosine with this latent's; ✓ persists: cosine ≥ ${scan.matching.threshold}. In brackets, the raw decoder cosine of the pair.</p>`;
}

/** The section for `layer`'s report: every done layer's numbers (this one marked), the chart, and its latents across depth. */
export function scanSection(scan: ScanJson, layer: number): ReportSection {
  const head = SCAN_COLUMNS.map((c) => `<th>${escapeHtml(c.head)}</th>`).join('');
  const body = scan.rows
    .map((r) => {
      const name = r.layer === layer ? `<b>${r.layer}</b>` : `<a href="../${escapeHtml(r.dir)}/report.html">${r.layer}</a>`;
      return `<tr${r.layer === layer ? ' class="here"' : ''}><td>${name}</td>${SCAN_COLUMNS.map((c) => `<td>${escapeHtml(c.cell(r))}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const notes = [
    ...(scan.pending.length ? [`Not done yet: layer${scan.pending.length > 1 ? 's' : ''} ${scan.pending.join(', ')} (the scan was stopped; the same command resumes it).`] : []),
    ...scan.missing.map((m) => `Layer ${m.layer} skipped: ${m.reason}.`),
  ];
  const html = `<section id="scan"><h2>Layer scan (${scan.rows.length} of ${scan.layers.length} layers, ${escapeHtml(scan.settings.sae.hookTemplate)})</h2>
${notes.map((n) => `<p class="info">${escapeHtml(n)}</p>`).join('\n')}
<div class="chart" style="height:260px"><canvas id="scan-chart"></canvas></div>
<table><thead><tr><th>layer</th>${head}</tr></thead><tbody>
${body}
</tbody></table>
<p class="muted">Per layer: FVE, L0 and dead % of its SAE on this text; CE recovered with it spliced into GPT-2; significant: latents with q ≤ alpha and support ≥ minSupport; best latent: the first of its concept list; punct.-firing: share of the latents that fire at all; proxies: share of the listed significant latents flagged PROXY. scan.json holds every number.</p>
<h3>Layer ${layer}'s concept latents across depth</h3>
${acrossDepth(scan, layer)}
<style>tr.here{background:#eef5fb}td.persists{color:#1e7d32}</style></section>`;
  const script = `(function () {
  var d = ${scriptJson(scanChartSeries(scan.rows))};
  if (typeof Chart === 'undefined' || !document.getElementById('scan-chart')) return;
  var colours = ['#2980b9', '#8e44ad', '#7f8c8d', '#e67e22', '#c0392b', '#16a085', '#d35400'];
  var sets = d.shares.map(function (s, i) { return { label: s.label, data: s.data, borderColor: colours[i], backgroundColor: colours[i], borderDash: i >= 5 ? [4, 3] : undefined, yAxisID: 'y', spanGaps: true }; });
  sets.push({ label: 'L0', data: d.l0, borderColor: '#34495e', backgroundColor: '#34495e', borderDash: [1, 2], yAxisID: 'n' });
  sets.push({ label: 'significant latents', data: d.significant, type: 'bar', backgroundColor: 'rgba(39,174,96,0.35)', yAxisID: 'n' });
  new Chart(document.getElementById('scan-chart'), { type: 'line', data: { labels: d.labels, datasets: sets },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { suggestedMin: 0, suggestedMax: 1, title: { display: true, text: 'share, effect, q' } }, n: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'significant latents, L0' } } } } });
})();`;
  return { html, script };
}
