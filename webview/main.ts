/**
 * The latent browser's page: keeps the host's BrowserState and its own UI state (selection, folded
 * sections, the custom word list, kept across re-creation with setState), renders them with render.ts
 * and turns clicks into WebviewToHost messages. It says `ready` once listening; the host posts only then.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import './style.css';
import type { BrowserState, HostToWebview, WebviewToHost } from '../src/shared/protocol';
import { densityChartConfig, draw, lossChartConfig, type ChartColors } from './charts';
import { lexiconModeOf, renderDetail, renderEmpty, renderLexicon, renderLists, renderNotices, renderStatus, renderSummary, type Action, type LexiconMode, type PanelView } from './render';
import { h, mount, type VNode } from './vnode';

/** What survives the view being destroyed and created again (webview state). */
interface Saved {
  runDir?: string;
  selected: number | null;
  collapsed: string[];
  customTerms: string;
}

declare function acquireVsCodeApi(): { postMessage(m: WebviewToHost): void; getState(): Saved | undefined; setState(s: Saved): void };

const vscode = acquireVsCodeApi();
const saved: Saved = vscode.getState() ?? { selected: null, collapsed: [], customTerms: '' };

let state: BrowserState | undefined;
let selected: number | null = null;
let detail: number[] | null = null;
let busy: string | null = null;
let error: string | null = null;
let lexiconMode: LexiconMode = 'gazetteer';
let collapsed = saved.collapsed;
let customTerms = saved.customTerms;
/** Inputs of the last lexicon and chart renders: those are redrawn only when these change (typing, canvas). */
let lexiconKey = '';
let chartsKey = '';
/** The detail was asked for by a click or a reveal: bring it into view once it has rendered (again when its heatmap arrives). */
let scrollToDetail = false;

function save(): void {
  vscode.setState({ runDir: state?.run?.runDir, selected, collapsed, customTerms });
}

function post(m: WebviewToHost): void {
  vscode.postMessage(m);
}

// ---------------------------------------------------------------- layout

const app = document.getElementById('app')!;
const parts = {
  status: document.createElement('div'),
  notices: document.createElement('div'),
  detail: document.createElement('div'),
  summary: document.createElement('div'),
  lexicon: document.createElement('div'),
  lists: document.createElement('div'),
  charts: document.createElement('div'),
};
const canvases = { loss: document.createElement('canvas'), density: document.createElement('canvas') };
canvases.loss.setAttribute('aria-label', 'Training loss and FVE per epoch');
canvases.density.setAttribute('aria-label', 'Histogram of latent densities');
const chartBox = (title: string, canvas: HTMLCanvasElement, testid: string) => {
  const box = mount(h('div', { class: 'chart', 'data-testid': testid }, h('div', { class: 'chart-title' }, title)), document) as HTMLElement;
  const frame = document.createElement('div');
  frame.className = 'chart-frame';
  frame.append(canvas);
  box.append(frame);
  return box;
};
const chartsSection = mount(h('vscode-collapsible', { heading: 'Charts', open: !collapsed.includes('charts'), 'data-section': 'charts' }), document) as HTMLElement;
const densityNote = document.createElement('p');
densityNote.className = 'muted';
chartsSection.append(chartBox('Loss curve', canvases.loss, 'loss-chart'), chartBox('Latent density', canvases.density, 'density-chart'), densityNote);
parts.charts.append(chartsSection);
parts.status.className = 'sticky';
app.append(...Object.values(parts));

function put(el: HTMLElement, nodes: VNode | VNode[] | null): void {
  el.replaceChildren(...(nodes === null ? [] : Array.isArray(nodes) ? nodes : [nodes]).map((n) => mount(n, document) as Node));
}

function view(s: BrowserState): PanelView {
  return { state: s, selected, detail, busy, error, collapsed, lexiconMode, customTerms };
}

function chartColors(): ChartColors {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    foreground: v('--vscode-descriptionForeground', '#9d9d9d'),
    grid: v('--vscode-panel-border', 'rgba(128, 128, 128, 0.35)'),
    loss: v('--vscode-charts-blue', '#3794ff'),
    fve: v('--vscode-charts-green', '#89d185'),
    bars: v('--vscode-charts-orange', '#d18616'),
  };
}

function render(): void {
  if (!state) return;
  const s = state;
  put(parts.status, renderStatus({ busy, error }));
  put(parts.notices, renderNotices(s));
  const run = s.run;
  if (!run) {
    put(parts.detail, renderEmpty());
    for (const el of [parts.summary, parts.lexicon, parts.lists]) put(el, null);
    parts.charts.hidden = true;
    lexiconKey = chartsKey = '';
    return;
  }
  const v = view(s);
  put(parts.detail, renderDetail(run, v));
  if (scrollToDetail) parts.detail.scrollIntoView({ block: 'start' });
  if (detail !== null) scrollToDetail = false;
  put(parts.summary, renderSummary(run, s.doc, v));
  put(parts.lists, renderLists(run, v));
  const lk = JSON.stringify([run.runDir, run.analysis.created, s.lexicon, lexiconMode, busy]);
  if (lk !== lexiconKey) {
    lexiconKey = lk;
    put(parts.lexicon, renderLexicon(run, v));
  }
  parts.charts.hidden = false;
  const ck = JSON.stringify([run.runDir, run.analysis.created, document.body.className]);
  if (ck !== chartsKey) {
    chartsKey = ck;
    const colors = chartColors();
    draw(canvases.loss, lossChartConfig(run.metrics, colors));
    draw(canvases.density, densityChartConfig(run.analysis.densityHistogram, colors));
    densityNote.textContent = `${run.analysis.densityHistogram.dead} dead latents are not in the histogram.`;
  }
}

// ---------------------------------------------------------------- selection

function select(latent: number | null, how: 'click' | 'reveal' | 'restore'): void {
  selected = latent;
  detail = null;
  collapsed = collapsed.filter((k) => k !== 'detail');
  scrollToDetail = latent !== null;
  save();
  render();
  if (latent === null) return;
  if (how === 'click') post({ type: 'selectLatent', latent });
  if (how === 'restore') post({ type: 'loadDetail', latent });
}

function onState(next: BrowserState): void {
  const prev = state;
  state = next;
  if (JSON.stringify(prev?.lexicon) !== JSON.stringify(next.lexicon)) lexiconMode = lexiconModeOf(next.lexicon);
  const runDir = next.run?.runDir;
  if (prev?.run?.runDir !== runDir) {
    // A new run (or none): its latents are other latents. A re-created view gets its selection back.
    const restore = prev === undefined && runDir !== undefined && saved.runDir === runDir && saved.selected !== null && saved.selected < next.run!.cfg.sae.d_sae;
    if (restore) return select(saved.selected, 'restore');
    selected = null;
    detail = null;
    save();
  }
  render();
}

// ---------------------------------------------------------------- events

window.addEventListener('message', (e: MessageEvent<HostToWebview>) => {
  const m = e.data;
  switch (m.type) {
    case 'state':
      return onState(m.state);
    case 'revealLatent':
      return select(m.latent, 'reveal');
    case 'latentDetail':
      if (m.latent !== selected) return; // an answer to an earlier click
      detail = m.activations;
      return render();
    case 'busy':
      busy = m.message;
      if (busy !== null) error = null;
      return render();
    case 'error':
      error = m.message;
      return render();
  }
});

function act(action: Action): void {
  switch (action) {
    case 'train':
      return post({ type: 'train' });
    case 'highlight':
      return post({ type: 'highlightLatent', latent: selected });
    case 'unhighlight':
      return post({ type: 'highlightLatent', latent: null });
    case 'close-detail':
      return select(null, 'click');
    case 'apply-custom':
      rememberTerms();
      return post({ type: 'customLexicon', terms: customTerms });
    case 'dismiss-error':
      error = null;
      return render();
  }
}

function rowOf(target: EventTarget | null): HTMLElement | null {
  return target instanceof Element ? target.closest<HTMLElement>('[data-testid="latent-row"]') : null;
}

app.addEventListener('click', (e) => {
  const actionEl = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-action]') : null;
  if (actionEl) {
    if (!actionEl.hasAttribute('disabled')) act(actionEl.dataset.action as Action);
    return;
  }
  const row = rowOf(e.target);
  if (row) select(Number(row.dataset.latent), 'click');
});

app.addEventListener('keydown', (e) => {
  const row = rowOf(e.target);
  if (row && (e.key === 'Enter' || e.key === ' ')) {
    e.preventDefault();
    select(Number(row.dataset.latent), 'click');
  }
});

// Capture: vscode-elements dispatch change and vsc-collapsible-toggle without bubbling.
app.addEventListener('change', (e) => {
  const el = e.target as HTMLElement & { value: string };
  if (el.dataset?.testid !== 'lexicon-select') return;
  const mode = el.value as LexiconMode;
  lexiconMode = mode;
  if (mode !== 'custom' && state && state.lexicon.kind !== mode) post({ type: 'changeLexicon', lexicon: { kind: mode } });
  render();
}, true);

/** Keeps what is typed in the custom word list (read from the element: not every input event leaves its shadow DOM). */
function rememberTerms(): void {
  const el = document.querySelector<HTMLElement & { value: string }>('[data-testid="lexicon-terms"]');
  if (!el || el.value === customTerms) return;
  customTerms = el.value;
  save();
}

app.addEventListener('input', rememberTerms, true);
app.addEventListener('change', rememberTerms, true);

app.addEventListener('vsc-collapsible-toggle', (e) => {
  const key = (e.target as HTMLElement).dataset.section;
  const open = (e as CustomEvent<{ open: boolean }>).detail.open;
  if (!key) return;
  // A section closed by default ("open:…") remembers being opened, the others being folded.
  const remember = key.startsWith('open:') ? open : !open;
  collapsed = remember ? [...collapsed.filter((k) => k !== key), key] : collapsed.filter((k) => k !== key);
  save();
}, true);

// A theme change repaints the CSS variables; the charts read their colours once, so redraw them.
new MutationObserver(() => render()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

post({ type: 'ready' });
