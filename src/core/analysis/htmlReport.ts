import type { RunMetrics } from '../run/format';
import { permutationText } from './analysisText';
import { chartJsSource } from './chartJs';
import { denseHeat, heatIntensity, type Heatmap } from './heatmap';
import type { LogitToken } from '../evidence/types';
import type { AnalysisReport, ListedLatent } from './types';

/**
 * report.html: one self-contained page (Chart.js embedded, no network) with the summary, the loss
 * curve, the density histogram, both latent lists and a text heatmap per listed latent. Every piece
 * of document text is HTML-escaped; data for the charts is JSON with "<" escaped.
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = (v: number | null, digits = 3) => (v === null ? '—' : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(digits) : v.toExponential(1));
const pct = (v: number) => `${(100 * v).toFixed(0)} %`;

/** A token's text for a table cell: visible whitespace, quoted. */
function tokenLabel(text: string): string {
  return escapeHtml(JSON.stringify(text));
}

/** The lab's score; "only on concept tokens" where its ratio is undefined. */
const scoreCell = (r: ListedLatent) => (r.score === null ? 'only on concept tokens' : fmt(r.score));

function listTable(rows: ListedLatent[], concept: boolean): string {
  const head = concept
    ? '<th>#</th><th>latent</th><th>score</th><th>diff</th><th>p</th><th>q</th><th>support</th><th>effect</th><th>density</th><th>punct.</th><th>stopw.</th><th>proxy</th><th>top tokens</th>'
    : '<th>#</th><th>latent</th><th>punct. mass</th><th>punct.</th><th>stopw.</th><th>first tok.</th><th>density</th><th>score</th><th>top tokens</th>';
  const body = rows
    .map((r, i) => {
      const tops = r.topTokens.map((t) => `${tokenLabel(t.text)}&nbsp;${fmt(t.value, 2)}`).join(', ');
      const latent = `<a href="#heat-${r.latent}">${r.latent}</a>`;
      return concept
        ? `<tr${r.proxy ? ' class="proxy"' : ''}><td>${i + 1}</td><td>${latent}</td><td>${scoreCell(r)}</td><td>${fmt(r.diff)}</td><td>${fmt(r.p)}</td><td>${fmt(r.q)}</td><td>${r.support}</td><td>${fmt(r.effect, 2)}</td><td>${fmt(r.densityPct, 1)} %</td><td>${pct(r.punctuationShare)}</td><td>${pct(r.stopwordShare)}</td><td>${r.proxy ? '<b>PROXY</b>' : ''}</td><td class="tokens">${tops}</td></tr>`
        : `<tr><td>${i + 1}</td><td>${latent}</td><td>${fmt(r.punctuationMass, 2)}</td><td>${pct(r.punctuationShare)}</td><td>${pct(r.stopwordShare)}</td><td>${pct(r.firstTokenShare)}</td><td>${fmt(r.densityPct, 1)} %</td><td>${scoreCell(r)}</td><td class="tokens">${tops}</td></tr>`;
    })
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function listSection(title: string, id: string, rows: ListedLatent[], concept: boolean, empty: string): string {
  return `<section id="${id}"><h2>${title}</h2>${rows.length === 0 ? `<p class="muted">${escapeHtml(empty)}</p>` : listTable(rows, concept)}</section>`;
}

/** Longer texts (a corpus) show excerpts in each heatmap: the tokens within EXCERPT_CONTEXT of its EXCERPTS strongest. */
const FULL_TEXT_TOKENS = 4096;
const EXCERPTS = 20;
const EXCERPT_CONTEXT = 12;

/** The token ranges a heatmap shows: the whole text, or excerpts around its strongest tokens (merged where they touch). */
function shownRanges(h: Heatmap, T: number): [number, number][] {
  if (T <= FULL_TEXT_TOKENS) return [[0, T]];
  const strongest = h.tokens.map((t, i) => [t, h.scaled[i]] as const).sort((a, b) => b[1] - a[1]).slice(0, EXCERPTS).map(([t]) => t).sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const t of strongest) {
    const [a, b] = [Math.max(0, t - EXCERPT_CONTEXT), Math.min(T, t + EXCERPT_CONTEXT + 1)];
    const last = ranges[ranges.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else ranges.push([a, b]);
  }
  return ranges;
}

function heatText(h: Heatmap, tokens: readonly { text: string }[], concept: Set<number>): string {
  const scaled = denseHeat(h, tokens.length);
  const range = h.max - h.min;
  const span = (t: { text: string }, i: number) => {
    if (t.text === '') return '';
    const a = heatIntensity(scaled[i]);
    const cls = concept.has(i) ? ' class="c"' : '';
    const value = h.min + scaled[i] * range;
    return a > 0 || cls ? `<span${cls} style="background:rgba(230,97,0,${a.toFixed(3)})" title="token ${i}: ${fmt(value)}">${escapeHtml(t.text)}</span>` : escapeHtml(t.text);
  };
  const ranges = shownRanges(h, tokens.length);
  const body = ranges.map(([a, b]) => tokens.slice(a, b).map((t, i) => span(t, a + i)).join('')).join(' <span class="muted">…</span> ');
  return ranges.length === 1 && ranges[0][1] - ranges[0][0] === tokens.length
    ? body
    : `<p class="muted">Excerpts: the ${EXCERPT_CONTEXT} tokens either side of its ${Math.min(EXCERPTS, h.tokens.length)} strongest tokens, of ${tokens.length}.</p>${body}`;
}

const logitCell = (ts: LogitToken[]) => ts.map((t) => `${t.token === null ? `#${t.id}` : tokenLabel(t.token)}&nbsp;${fmt(t.value, 2)}`).join(', ');

/** Fidelity of the SAE spliced into GPT-2, and per tested latent its ablation ΔCE and logit effects. */
function evidenceSection(evidence: AnalysisReport['evidence']): string {
  const head = '<h2>Causal evidence</h2>';
  if (!evidence) return `<section id="evidence">${head}<p class="muted">Not computed (latent-lens analyze RUNDIR computes it when the run's model is at hand).</p></section>`;
  if ('unavailable' in evidence) return `<section id="evidence">${head}<p class="warning">${escapeHtml(evidence.unavailable)}</p></section>`;
  const f = evidence.fidelity;
  const rows = evidence.latents
    .map((l) => {
      const a = l.ablation;
      const logits = 'omitted' in l.logits ? `<td colspan="2" class="muted">${escapeHtml(l.logits.omitted)}</td>` : `<td class="tokens">${logitCell(l.logits.top.slice(0, 5))}</td><td class="tokens">${logitCell(l.logits.bottom.slice(0, 5))}</td>`;
      return `<tr><td><a href="#heat-${l.latent}">${l.latent}</a></td><td>${fmt(a.meanDeltaLoss, 4)}</td><td>${fmt(a.maxDeltaLoss, 4)}</td><td>${fmt(a.conceptNext.meanDeltaLoss, 4)} (${a.conceptNext.positions})</td><td>${fmt(a.punctuationNext.meanDeltaLoss, 4)} (${a.punctuationNext.positions})</td>${logits}</tr>`;
    })
    .join('\n');
  return `<section id="evidence">${head}
<table><tr><th>CE clean</th><td>${fmt(f.ceClean, 4)}</td><th>SAE spliced in</th><td>${fmt(f.ceSpliced, 4)}</td><th>zero-ablated</th><td>${fmt(f.ceZeroAblation, 4)}</td><th>CE recovered</th><td>${fmt(f.ceRecovered)}</td></tr></table>
<p class="muted">CE = mean over positions t = 0…T−2 of −log p(token t+1), nats. Spliced: ${escapeHtml(evidence.hookName)} replaced by the SAE's reconstruction at every position; zero-ablated: by zeros; CE recovered = (zero − spliced) / (zero − clean). ${escapeHtml(evidence.rule)}</p>
<table><thead><tr><th>latent</th><th>mean ΔCE</th><th>max ΔCE</th><th>mean ΔCE, next token concept (positions)</th><th>… next token punctuation</th><th>promotes</th><th>suppresses</th></tr></thead><tbody>
${rows}
</tbody></table>
<p class="muted">Ablation keeps the SAE's error: the hook becomes x − z_j·W_dec[j] at every position; ΔCE_t = CE_t(ablated) − CE_t(clean). Logit effects: the latent's decoder direction in the residual stream times the unembedding (GPT-2's tied wte, no final LayerNorm).</p></section>`;
}

/** A section a caller adds below the summary (e.g. the layer scan's): its HTML, and a script run once Chart.js is loaded. */
export interface ReportSection {
  html: string;
  script?: string;
}

export interface HtmlInputs {
  report: AnalysisReport;
  tokens: readonly { text: string }[];
  /** The loss curve comes from here; without it the chart is left out. */
  metrics?: RunMetrics;
  sections?: ReportSection[];
}

/** JSON safe inside <script>: no "</script>", no "<!--". */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

export function renderReportHtml({ report, tokens, metrics, sections = [] }: HtmlInputs, chartJs: string = chartJsSource()): string {
  const s = report.summary;
  const run = report.run;
  const concept = new Set(report.concept.tokens);
  const o = report.options;
  const significant = new Set(report.conceptList.map((e) => e.latent));
  const byLatent = new Map(report.conceptList.concat(report.conceptCandidates, report.punctuationList).map((e) => [e.latent, e]));
  const title = `Latent Lens report — ${run.source || 'document'}`;
  const summaryRows: [string, string][] = [
    ['source', run.source],
    ['model', `${run.model ?? 'unknown'}${run.randomWeights && !/random/i.test(run.model ?? '') ? ' (RANDOM WEIGHTS)' : ''}`],
    ['hook', run.hookName ?? '—'],
    ['tokens × latents', `${s.nTokens} × ${s.nLatents}${run.k ? `, k ${run.k}` : ''}`],
    ['layer density (latents firing on ≥ 1 token)', `${fmt(s.layerDensityPct, 1)} %`],
    ['mean density (latents per token)', `${fmt(s.meanDensityPct, 2)} % (L0 ${fmt(s.l0, 1)})`],
    ['dead / always-on / near-always', `${s.dead} / ${s.alwaysOn} / ${s.nearAlways} (≥ ${pct(o.nearAlways)} of tokens)`],
    [
      `concept "${report.concept.name}" (lexicon ${report.concept.lexicon.name})`,
      `${s.conceptTokens} tokens; ${report.concept.matchedTerms.length} of ${report.concept.lexicon.terms} terms found${report.concept.contrast ? `; contrast "${report.concept.contrast.name}" (${report.concept.nOther} tokens)` : ''}`,
    ],
    ['latents tested / significant', `${s.tested} (support ≥ ${o.minSupport}) / ${s.significant} (q ≤ ${o.alpha}, Benjamini–Hochberg)`],
    ['permutation test', `mean activation on concept − other tokens, one-sided; ${permutationText(report)}`],
    ['proxies among listed / punctuation-firing', `${s.proxies} / ${s.punctuationFiring}`],
    ...(report.evidence && 'fidelity' in report.evidence ? [['CE recovered (SAE spliced into GPT-2)', fmt(report.evidence.fidelity.ceRecovered)] as [string, string]] : []),
  ];
  const hist = report.densityHistogram;
  const chartData = {
    curve: metrics?.curve.map((e) => ({ epoch: e.epoch, loss: e.loss, mse: e.mse })) ?? [],
    hist: {
      labels: hist.counts.map((_, i) => `${hist.edges[i].toFixed(2)}…${hist.edges[i + 1].toFixed(2)}`),
      counts: hist.counts,
    },
  };
  const heatmaps = report.heatmaps
    .map((h) => {
      const e = byLatent.get(h.latent);
      const verdict = significant.has(h.latent) ? `${report.concept.name}-selective, q ${fmt(e?.q ?? null)}` : e && e.support > 0 ? `not significant, q ${fmt(e.q)}` : '';
      const what = e ? `${verdict ? `${verdict}; ` : ''}score ${scoreCell(e)}, p ${fmt(e.p)}, support ${e.support}, punct. ${pct(e.punctuationShare)}${e.proxy ? ', PROXY' : ''}` : '';
      return `<div class="heat" id="heat-${h.latent}"><h3>latent ${h.latent} <span class="muted">${escapeHtml(what)}; max ${fmt(h.max)}</span></h3><div class="text">${heatText(h, tokens, concept)}</div></div>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}h3{font-size:1em;margin:1em 0 .3em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.25em .5em;text-align:left;vertical-align:top}
tr.proxy{background:#fff3cd}.muted{color:#777;font-weight:normal}.tokens{font-family:ui-monospace,monospace;font-size:12px}
.warning{background:#fdecea;border-left:4px solid #c0392b;padding:.5em 1em}.info{background:#eef5fb;border-left:4px solid #2980b9;padding:.5em 1em}
.random{background:#c0392b;color:#fff;padding:.6em 1em;font-weight:bold}
.charts{display:flex;gap:2em;flex-wrap:wrap}.chart{flex:1 1 480px;height:280px;position:relative}
.text{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12.5px;border:1px solid #eee;padding:.6em;max-height:22em;overflow:auto}
.text .c{text-decoration:underline dotted #2471a3}
</style>
</head>
<body>
${run.randomWeights ? '<div class="random">RANDOM WEIGHTS: this run used a generated test model, not GPT-2. Its latents mean nothing.</div>' : ''}
<h1>${escapeHtml(title)}</h1>
<p class="muted">analysis version ${report.version}, ${escapeHtml(report.created)}</p>
${report.messages.map((m) => `<p class="${m.level}">${escapeHtml(m.text)}</p>`).join('\n')}
<section id="summary"><h2>Summary</h2><table>${summaryRows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table></section>
${sections.map((x) => x.html).join('\n')}
<section id="charts"><h2>Training and density</h2><div class="charts">
${metrics ? '<div class="chart"><canvas id="loss"></canvas></div>' : '<p class="muted">No metrics.json: no loss curve.</p>'}
<div class="chart"><canvas id="density"></canvas></div></div>
<p class="muted">Density histogram: x = log10(share of tokens a latent fires on); ${hist.dead} dead latents are not drawn.</p></section>
${listSection(`Concept-selective latents ("${escapeHtml(report.concept.name)}"; q ≤ ${o.alpha}, support ≥ ${o.minSupport})`, 'concept', report.conceptList, true, `No latent passes q ≤ ${o.alpha} with support ≥ ${o.minSupport}; see the messages above and the candidates below.`)}
<section id="candidates"><details><summary>Not significant (${report.conceptCandidates.length} candidates)</summary>${report.conceptCandidates.length ? listTable(report.conceptCandidates, true) : '<p class="muted">None.</p>'}<p class="muted">The best of the other latents firing on concept tokens: q above ${o.alpha}, or support below ${o.minSupport} (not tested, no p). None of them is concept-selective.</p></details></section>
<p class="muted">Ordered by q, then effect. score: the lab's mean non-zero activation on concept tokens ÷ on other tokens ("only on concept tokens": undefined). diff: mean activation on concept − other tokens, zeros included — what the permutation test compares. p: permutation test in blocks of neighbouring tokens; q: Benjamini–Hochberg over the tested latents. support: concept tokens where it fires. effect: rank-biserial correlation (zeros included). PROXY: punctuation or stopword share of its activation mass ≥ ${pct(o.proxyThreshold)}.</p>
${listSection('Punctuation-firing latents', 'punctuation', report.punctuationList, false, `No latent puts ≥ ${pct(o.punctuationThreshold)} of its activation mass on punctuation or whitespace.`)}
${evidenceSection(report.evidence)}
<section id="heatmaps"><h2>Heatmaps</h2><p class="muted">Activation min–max scaled per latent; colour intensity = scaled²; dotted underline = concept token.</p>
${heatmaps}
</section>
<script>${chartJs.replace(/<\/script/gi, '<\\/script')}</script>
<script>
(function () {
  var d = ${scriptJson(chartData)};
  if (typeof Chart === 'undefined') return;
  var loss = document.getElementById('loss');
  if (loss && d.curve.length) new Chart(loss, { type: 'line', data: { labels: d.curve.map(function (e) { return e.epoch; }), datasets: [
    { label: 'loss', data: d.curve.map(function (e) { return e.loss; }), borderColor: '#c0392b', pointRadius: 0 },
    { label: 'MSE', data: d.curve.map(function (e) { return e.mse; }), borderColor: '#2980b9', pointRadius: 0 } ] },
    options: { animation: false, maintainAspectRatio: false, scales: { x: { title: { display: true, text: 'epoch' } }, y: { type: 'logarithmic' } } } });
  new Chart(document.getElementById('density'), { type: 'bar', data: { labels: d.hist.labels, datasets: [
    { label: 'latents', data: d.hist.counts, backgroundColor: '#e67e22' } ] },
    options: { animation: false, maintainAspectRatio: false, scales: { x: { title: { display: true, text: 'log10 density' } } } } });
})();
</script>
${sections.flatMap((x) => (x.script ? [`<script>\n${x.script}\n</script>`] : [])).join('\n')}
</body>
</html>
`;
}
