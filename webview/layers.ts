/**
 * The layer view of a scan (src/shared/scanView.ts LayerView): a Chart.js chart across layers and
 * the table of every done layer, whose rows switch the editor to that layer's run. Pure, like
 * render.ts: main.ts mounts the table and draws the chart.
 */
import type { ChartConfiguration } from 'chart.js' with { 'resolution-mode': 'import' };
import type { LayerView } from '../src/shared/scanView';
import { axis, common, type ChartColors } from './charts';
import { h, type VNode } from './vnode';

/** Line colours of the series on the left axis, in LayerView.chart.shares order (VS Code's chart colours where it has them). */
export interface LayerChartColors extends ChartColors {
  series: string[];
}

/** Shares, the best latent's effect and q on the left axis; significant latents (bars) and L0 on the right. */
export function layerChartConfig(v: LayerView, c: LayerChartColors): ChartConfiguration<'line' | 'bar', (number | null)[], string> {
  const { chart } = v;
  const lines = chart.shares.map((s, i) => ({
    type: 'line' as const,
    label: s.label,
    data: s.data,
    borderColor: c.series[i % c.series.length],
    backgroundColor: c.series[i % c.series.length],
    borderDash: s.label.startsWith('best') ? [4, 3] : undefined,
    spanGaps: true,
    yAxisID: 'share',
  }));
  return {
    type: 'line',
    data: {
      labels: chart.labels,
      datasets: [
        ...lines,
        { type: 'line' as const, label: 'L0', data: chart.l0, borderColor: c.foreground, backgroundColor: c.foreground, borderDash: [1, 2], yAxisID: 'count' },
        { type: 'bar' as const, label: 'significant latents', data: chart.significant, backgroundColor: c.bars, yAxisID: 'count' },
      ],
    },
    options: {
      ...common(c),
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: axis(c, 'layer'),
        share: { ...axis(c, 'share, effect, q'), type: 'linear', position: 'left', suggestedMin: 0, suggestedMax: 1 },
        count: { ...axis(c, 'significant latents, L0'), type: 'linear', position: 'right', beginAtZero: true, grid: { drawOnChartArea: false, color: c.grid } },
      },
    },
  };
}

/** The table: one row per done layer (the shown one marked), each a button to show that layer's run. */
export function renderLayerTable(v: LayerView): VNode {
  const head = h('tr', {}, ...v.heads.map((t) => h('th', {}, t)));
  const rows = v.rows.map((r) =>
    h(
      'tr',
      {
        class: r.layer === v.current ? 'layer-row here' : 'layer-row',
        'data-action': 'show-layer',
        'data-layer': String(r.layer),
        'data-testid': 'layer-row',
        tabindex: '0',
        title: r.layer === v.current ? `Layer ${r.layer} is shown in the editor` : `Show layer ${r.layer}'s run in the editor`,
      },
      h('td', {}, r.layer === v.current ? `▸ ${r.layer}` : String(r.layer)),
      ...r.cells.map((c) => h('td', {}, c)),
    ),
  );
  return h(
    'div',
    { class: 'layer-view', 'data-testid': 'layer-view' },
    h('p', { class: 'muted' }, `${v.title}. Click a layer to show its run: tints, hover and lists.`),
    ...v.notes.map((n) => h('p', { class: 'muted' }, n)),
    h('table', { class: 'layer-table' }, h('thead', {}, head), h('tbody', {}, ...rows)),
    h('p', { class: 'muted' }, v.matching),
  );
}
