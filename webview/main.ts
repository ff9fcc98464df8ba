/**
 * The latent browser's page: keeps the host's BrowserState and its own UI state (selection, folded
 * and expanded sections, the custom word list, kept across re-creation with setState), renders them
 * with render.ts and turns clicks into WebviewToHost messages. It says `ready` once listening; the
 * host posts only then. A render never moves what the user is looking at: the latent row at the top
 * of the view (or the one just clicked) stays where it was on the screen.
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
import type { Action } from './parts';
import { detailPlacement, lexiconModeOf, renderDetail, renderEmpty, renderLegend, renderLexicon, renderLists, renderNotices, renderStatus, renderSummary, type LexiconMode, type PanelView } from './render';
import { h, mount, type VNode } from './vnode';

/** What survives the view being destroyed and created again (webview state). */
interface Saved {
  runDir?: string;
  selected: number | null;
  selectedIn?: string | null;
  collapsed: string[];
  expanded?: string[];
  customTerms: string;
}

declare function acquireVsCodeApi(): { postMessage(m: WebviewToHost): void; getState(): Saved | undefined; setState(s: Saved): void };

const vscode = acquireVsCodeApi();
const saved: Saved = vscode.getState() ?? { selected: null, collapsed: [], customTerms: '' };

let state: BrowserState | undefined;
let selected: number | null = null;
let selectedIn: string | null = null;
let detail: number[] | null = null;
let busy: string | null = null;
let error: string | null = null;
let lexiconMode: LexiconMode = 'gazetteer';
let collapsed = saved.collapsed;
let expanded = saved.expanded ?? [];
let customTerms = saved.customTerms;
/** Inputs of the last lexicon and chart renders: those are redrawn only when these change (typing, canvas). */
let lexiconKey = '';
let chartsKey = '';
/** A reveal (from the hover): bring the detail into view once it has rendered (again when its activations arrive). */
let scrollToDetail = false;
/** The row just clicked: it stays where it was on the screen through the render that opens its detail. */
let clicked: { latent: number; list: string } | null = null;

function save(): void {
  vscode.setState({ runDir: state?.run?.runDir, selected, selectedIn, collapsed, expanded, customTerms });
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
  legend: document.createElement('div'),
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
  return { state: s, selected, selectedIn, detail, busy, error, collapsed, expanded, lexiconMode, customTerms };
}

/** The row to keep in place through a render: the one just clicked, else the first one on screen. */
function anchorRow(): { el: HTMLElement; top: number } | null {
  const rows = Array.from(document.querySelectorAll<HTMLElement>('[data-testid="latent-row"]'));
  const el = clicked ? rows.find((r) => r.dataset.latent === String(clicked!.latent) && r.dataset.list === clicked!.list) : rows.find((r) => r.getBoundingClientRect().bottom > parts.status.getBoundingClientRect().bottom);
  return el ? { el, top: el.getBoundingClientRect().top } : null;
}

/** Resolves once every section (a Lit element, which renders its shadow DOM a microtask later) has rendered. */
function sectionsRendered(): Promise<unknown> {
  return Promise.all(Array.from(document.querySelectorAll('vscode-collapsible'), (e) => (e as HTMLElement & { updateComplete?: Promise<unknown> }).updateComplete));
}

let renders = 0;

/**
 * Renders, then scrolls so that the anchor row is where it was on the screen (a section above it
 * grew, shrank or closed). The new sections have no height until Lit renders them, a microtask later:
 * meanwhile the page keeps its height, else the browser would clamp the scroll position to the top.
 */
function renderInPlace(): void {
  const anchor = anchorRow();
  const key = anchor && { latent: anchor.el.dataset.latent, list: anchor.el.dataset.list };
  app.style.minHeight = `${app.getBoundingClientRect().height}px`;
  render();
  const mine = ++renders;
  void sectionsRendered().then(() => {
    if (mine !== renders) return; // a later render takes over
    app.style.minHeight = '';
    const again = key && Array.from(document.querySelectorAll<HTMLElement>('[data-testid="latent-row"]')).find((r) => r.dataset.latent === key.latent && r.dataset.list === key.list);
    if (again && anchor) window.scrollBy(0, again.getBoundingClientRect().top - anchor.top);
    if (scrollToDetail) document.querySelector('[data-testid="latent-detail"]')?.scrollIntoView({ block: 'nearest' });
    if (detail !== null) scrollToDetail = false;
  });
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
    for (const el of [parts.summary, parts.legend, parts.lexicon, parts.lists]) put(el, null);
    parts.charts.hidden = true;
    lexiconKey = chartsKey = '';
    return;
  }
  const v = view(s);
  put(parts.detail, detailPlacement(run, v) === null ? renderDetail(run, v) : null);
  put(parts.summary, renderSummary(run, s.doc, v));
  put(parts.legend, renderLegend(run, v));
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

/** Selects a latent (null: closes the detail); `list` is the list whose row was clicked. */
function select(latent: number | null, how: 'click' | 'reveal' | 'restore', list: string | null = null): void {
  selected = latent;
  selectedIn = list;
  detail = null;
  collapsed = collapsed.filter((k) => k !== 'detail');
  scrollToDetail = how === 'reveal' && latent !== null;
  clicked = how === 'click' && latent !== null && list !== null ? { latent, list } : null;
  save();
  renderInPlace();
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
    if (restore) return select(saved.selected, 'restore', saved.selectedIn ?? null);
    selected = null;
    detail = null;
    save();
  }
  renderInPlace();
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
      return renderInPlace();
    case 'busy':
      busy = m.message;
      if (busy !== null) error = null;
      return renderInPlace();
    case 'error':
      error = m.message;
      return renderInPlace();
  }
});

function act(action: Action, el: HTMLElement): void {
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
      return renderInPlace();
    case 'show-all':
      if (el.dataset.list) expanded = [...expanded.filter((k) => k !== el.dataset.list), el.dataset.list];
      save();
      return renderInPlace();
    case 'latent-evidence':
      return selected === null ? undefined : post({ type: 'latentEvidence', latent: selected });
    case 'check-stability':
      return post({ type: 'checkStability' });
    case 'cancel-evidence':
      return post({ type: 'cancelWork', work: 'evidence' });
    case 'cancel-latentEvidence':
      return post({ type: 'cancelWork', work: 'latentEvidence' });
    case 'cancel-stability':
      return post({ type: 'cancelWork', work: 'stability' });
  }
}

function rowOf(target: EventTarget | null): HTMLElement | null {
  return target instanceof Element ? target.closest<HTMLElement>('[data-testid="latent-row"]') : null;
}

app.addEventListener('click', (e) => {
  const actionEl = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-action]') : null;
  if (actionEl) {
    if (!actionEl.hasAttribute('disabled')) act(actionEl.dataset.action as Action, actionEl);
    return;
  }
  const row = rowOf(e.target);
  if (row) toggle(row);
});

/** A click on a row opens its detail under it, or closes the detail it already shows. */
function toggle(row: HTMLElement): void {
  const latent = Number(row.dataset.latent);
  const list = row.dataset.list ?? null;
  if (selected === latent && selectedIn === list) select(null, 'click');
  else select(latent, 'click', list);
}

app.addEventListener('keydown', (e) => {
  const row = rowOf(e.target);
  if (row && (e.key === 'Enter' || e.key === ' ')) {
    e.preventDefault();
    toggle(row);
  }
});

// Capture: vscode-elements dispatch change and vsc-collapsible-toggle without bubbling.
app.addEventListener('change', (e) => {
  const el = e.target as HTMLElement & { value: string };
  if (el.dataset?.testid !== 'lexicon-select') return;
  const mode = el.value as LexiconMode;
  lexiconMode = mode;
  if (mode !== 'custom' && state && state.lexicon.kind !== mode) post({ type: 'changeLexicon', lexicon: { kind: mode } });
  renderInPlace();
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
  // A detail that was in this section moves (to the top, or back into it): render again.
  if (selected !== null && state?.run) renderInPlace();
}, true);

// A theme change repaints the CSS variables; the charts read their colours once, so redraw them.
new MutationObserver(() => renderInPlace()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

post({ type: 'ready' });
