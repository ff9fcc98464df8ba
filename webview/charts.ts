/**
 * The loss curve and the density histogram, drawn with Chart.js. Its UMD build (dist/chart.umd.js, the
 * same file report.html embeds) is loaded by its own <script> before this bundle and sets window.Chart;
 * the configurations are built by pure functions, the drawing is the last step.
 */
import type { Chart as ChartClass, ChartConfiguration } from 'chart.js' with { 'resolution-mode': 'import' };
import type { DensityHistogram } from '../src/core/analysis/density';
import type { RunMetrics } from '../src/core/run/format';
import { fmt } from './parts';

/** Theme colours, read from VS Code's CSS variables by main.ts. */
export interface ChartColors {
  foreground: string;
  grid: string;
  loss: string;
  fve: string;
  bars: string;
}

const common = (c: ChartColors) => ({
  animation: false as const,
  responsive: true,
  maintainAspectRatio: false,
  color: c.foreground,
  plugins: { legend: { labels: { color: c.foreground, boxWidth: 12 } } },
});

const axis = (c: ChartColors, title: string) => ({
  ticks: { color: c.foreground, maxTicksLimit: 6 },
  grid: { color: c.grid },
  title: { display: true, text: title, color: c.foreground },
});

export function lossChartConfig(metrics: RunMetrics, c: ChartColors): ChartConfiguration<'line'> {
  const epochs = metrics.curve.map((e) => String(e.epoch));
  return {
    type: 'line',
    data: {
      labels: epochs,
      datasets: [
        { label: 'loss', data: metrics.curve.map((e) => e.loss), borderColor: c.loss, backgroundColor: c.loss, pointRadius: 0, borderWidth: 2, yAxisID: 'loss' },
        { label: 'FVE', data: metrics.curve.map((e) => e.fve), borderColor: c.fve, backgroundColor: c.fve, pointRadius: 0, borderWidth: 1.5, borderDash: [4, 3], yAxisID: 'fve' },
      ],
    },
    options: {
      ...common(c),
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: axis(c, 'epoch'),
        loss: { ...axis(c, 'loss'), type: 'linear', position: 'left' },
        fve: { ...axis(c, 'FVE'), type: 'linear', position: 'right', grid: { drawOnChartArea: false, color: c.grid } },
      },
    },
  };
}

/** Bars over log10(density), labelled by the density (% of tokens) at each bin's lower edge. */
export function densityChartConfig(hist: DensityHistogram, c: ChartColors): ChartConfiguration<'bar'> {
  const labels = hist.counts.map((_, i) => `${fmt(100 * 10 ** hist.edges[i], 2)} %`);
  return {
    type: 'bar',
    data: { labels, datasets: [{ label: 'latents', data: hist.counts, backgroundColor: c.bars, borderWidth: 0 }] },
    options: {
      ...common(c),
      plugins: { legend: { display: false } },
      scales: { x: axis(c, 'density (% of tokens, log scale)'), y: { ...axis(c, 'latents'), beginAtZero: true } },
    },
  };
}

/** Replaces the chart on `canvas`, if any, with one drawn from `config`. */
export function draw(canvas: HTMLCanvasElement, config: ChartConfiguration<'line'> | ChartConfiguration<'bar'>): void {
  const Chart = (window as unknown as { Chart: typeof ChartClass }).Chart;
  Chart.getChart(canvas)?.destroy();
  new Chart(canvas, config as ChartConfiguration);
}
