/**
 * What the latent browser shows, as VNode trees (vnode.ts) built from the host's BrowserState and the
 * panel's own UI state. Pure: no DOM, no messages; main.ts mounts the result and wires the events
 * through the data-action / data-latent / data-list attributes set here. data-testid values are the
 * e2e tests' hooks. A latent's detail (detail.ts) opens in place, under the row that opened it, so
 * the list keeps its scroll position; a latent no visible row shows opens at the top.
 */
import type { StabilityReport } from '../src/core/analysis/stability';
import type { ListedLatent, ReportMessage } from '../src/core/analysis/types';
import { saeKindText, saeOriginText } from '../src/core/run/describe';
import type { BrowserState, LexiconChoice, RunView } from '../src/shared/protocol';
import { hueMeaning, STRENGTH_LEGEND, TINT_LEGEND_INTRO } from '../src/shared/legend';
import type { Hue } from '../src/shared/runFacts';
import { STABILITY_SEEDS } from '../src/shared/work';
import { renderDetail } from './detail';
import { badge, button, capitalize, distinctTokens, duration, fmt, icon, isOpen, metric, pct, section, tokenChips, workLine } from './parts';
import { h, type Slot, type VNode } from './vnode';

export type LexiconMode = 'gazetteer' | 'course' | 'custom';

/** Everything one render needs: the host's state and what the panel itself remembers. */
export interface PanelView {
  state: BrowserState;
  selected: number | null;
  /** The list whose row opened the detail (its section key); null: a reveal, shown where the latent first appears. */
  selectedIn: string | null;
  /** The selected latent's activation on every token of the run ([T]), once the host has sent it. */
  detail: number[] | null;
  /** A re-analysis in progress, in words. */
  busy: string | null;
  error: string | null;
  /** Keys of the sections the user folded, and the `open:` keys of sections closed by default that the user opened. */
  collapsed: readonly string[];
  /** Lists the user asked to show in full. */
  expanded: readonly string[];
  lexiconMode: LexiconMode;
  customTerms: string;
}

/** Rows of a list shown before "Show all". */
export const LIST_SHOWN = 10;
/** Distinct top tokens on a row. */
const ROW_TOKENS = 3;

// ---------------------------------------------------------------- status, notices, empty state

/** Why a run's latents mean nothing, when its model had random weights (the summary's badge says it). */
function randomWeightsText(run: RunView): string | undefined {
  if (!run.cfg.model.random_weights && !run.analysis.run.randomWeights) return undefined;
  return run.analysis.messages.find((m) => m.code === 'random-weights')?.text ?? `${run.cfg.model.name} is a generated test model: its latents say nothing about GPT-2.`;
}

/** The host's notices (restricted mode, …); random weights is left to the summary's badge. */
export function renderNotices(state: BrowserState): VNode {
  const inBadge = state.run && randomWeightsText(state.run);
  const notices = state.notices.filter((n) => n !== inBadge);
  return h('div', { class: 'notices' }, notices.map((n) => h('div', { class: 'notice notice-warning', role: 'status' }, icon('warning'), ' ', n)));
}

/** A re-analysis and the worker's work on the run in progress, and the last error: kept in sight at the top of the panel. */
export function renderStatus(view: Pick<PanelView, 'busy' | 'error'> & { state?: Pick<BrowserState, 'work'> }): VNode {
  const work = view.state?.work;
  return h(
    'div',
    { class: 'status' },
    view.busy !== null && h('div', { class: 'notice notice-busy', role: 'status', 'data-testid': 'busy' }, h('vscode-progress-ring', { class: 'ring' }), h('span', {}, view.busy)),
    work?.evidence && workLine('evidence-busy', `Causal evidence: ${work.evidence}`, 'cancel-evidence'),
    work?.stability && workLine('stability-busy', `Stability: ${work.stability}`, 'cancel-stability'),
    view.error !== null &&
      h(
        'div',
        { class: 'notice notice-error', role: 'alert', 'data-testid': 'error' },
        icon('error'),
        h('span', { class: 'grow' }, view.error),
        h('vscode-button', { 'data-action': 'dismiss-error', icon: 'close', secondary: true, title: 'Dismiss' }),
      ),
  );
}

export function renderEmpty(): VNode {
  return h(
    'div',
    { class: 'empty', 'data-testid': 'empty-state' },
    h('p', { class: 'empty-title' }, icon('beaker'), ' No Latent Lens run for this editor yet'),
    h('p', {}, "Run 'Latent Lens: Train SAE on this file' on a document (or a selection of it) to browse its latents here."),
    button('Train SAE on this file', 'train', 'play'),
  );
}

// ---------------------------------------------------------------- summary

/** CE recovered and the three CEs, or where the causal evidence stands. */
function fidelityItems(run: RunView, computing: string | null): [string, string, string?][] {
  const e = run.analysis.evidence;
  const ce = 'cross-entropy of the next token, nats per token';
  if (!e) return [['CE recovered', computing ? 'computing…' : '—', computing ?? 'not computed']];
  if ('unavailable' in e) return [['CE recovered', '—', 'no causal evidence for this run (see below)']];
  const f = e.fidelity;
  return [
    ['CE recovered', fmt(f.ceRecovered), '(CE zero-ablated − CE with the SAE spliced in) ÷ (CE zero-ablated − CE clean): 1 = the SAE loses nothing, 0 = as bad as zeroing the hook'],
    ['CE', `clean ${fmt(f.ceClean, 4)} · SAE ${fmt(f.ceSpliced, 4)} · zero ${fmt(f.ceZeroAblation, 4)}`, `${ce}: GPT-2 as it is, with the hook replaced by the SAE's reconstruction, and by zeros`],
  ];
}

function evidenceState(run: RunView, computing: string | null): VNode | false {
  const e = run.analysis.evidence;
  if (computing || !e) return false;
  if ('unavailable' in e) return h('div', { class: 'notice notice-warning', 'data-testid': 'evidence-unavailable' }, icon('warning'), ` No causal evidence for this run: ${e.unavailable}`);
  return h('p', { class: 'muted', 'data-testid': 'evidence-done' }, `Causal evidence for ${e.latents.length} latents (the first ${run.analysis.options.top} of each list), ${e.perWindow ? `${e.windows.length} windows, ` : ''}computed in ${duration(e.ms)}.`);
}

export function renderSummary(run: RunView, doc: BrowserState['doc'], view: Pick<PanelView, 'collapsed'> & { state?: Pick<BrowserState, 'work'> }): VNode {
  const s = run.analysis.summary;
  const m = run.metrics;
  const random = randomWeightsText(run);
  const lex = run.analysis.concept.lexicon;
  const computing = view.state?.work.evidence ?? null;
  const items: [string, string, string?][] = [
    ['Tokens', String(s.nTokens)],
    ['Latents', String(s.nLatents), saeKindText(run.cfg.sae)],
    ['FVE', fmt(m.final.fve), 'fraction of variance explained by the reconstruction'],
    ...fidelityItems(run, computing),
    ['L0', fmt(s.l0), 'mean number of latents non-zero per token'],
    ['Layer density', `${fmt(s.layerDensityPct)} %`, '% of latents that fire on at least one token'],
    ['Dead', `${fmt((100 * s.dead) / s.nLatents)} % (${s.dead})`, 'latents that fire on no token'],
    ['Always-on', String(s.alwaysOn), `fire on every token; ${s.nearAlways} fire on at least ${pct(run.analysis.options.nearAlways)} of them`],
    ['Engine', m.engine],
    ['Device', m.device],
    ['Time', duration(m.total_ms), m.ms_per_epoch === undefined ? 'encoding this text; the SAE was not trained here' : `${duration(m.ms_per_epoch)} per epoch, ${m.batching}`],
  ];
  return section(
    'summary',
    'Run',
    doc ? doc.name : run.tokens.source,
    view,
    h(
      'div',
      { 'data-testid': 'summary', class: 'summary' },
      random && h('div', { class: 'random-weights', 'data-testid': 'random-weights', role: 'alert' }, icon('warning'), ' RANDOM WEIGHTS', h('span', { class: 'random-why' }, random)),
      doc?.stale && h('div', { class: 'notice notice-warning', 'data-testid': 'stale' }, icon('history'), ' The document changed since this run; train again for current latents.'),
      h('dl', { class: 'facts' }, ...items.flatMap(([k, v, title]) => [h('dt', { title }, k), h('dd', { title }, v)])),
      evidenceState(run, computing),
      h('p', { class: 'muted' }, `${run.cfg.model.name} · ${run.cfg.sae.hook_name} · ${saeOriginText(run.cfg)} · lexicon ${lex.name} (${lex.terms} terms, ${run.analysis.concept.matchedTerms.length} found in the text)`),
    ),
  );
}

/** What the hues and strengths of the editor's tints mean, with swatches in the theme's own tint colours. */
export function renderLegend(run: RunView, view: Pick<PanelView, 'collapsed'>): VNode {
  const concept = run.analysis.concept.name;
  const hues: Hue[] = ['geography', 'punctuation', 'other', 'highlight'];
  const swatches = (hue: Hue) => h('span', { class: 'swatches' }, ...[1, 2, 3, 4].map((b) => h('span', { class: `swatch swatch-${hue}-${b}`, title: `strength ${b}` }, 'Aa')));
  return section(
    'legend',
    'Tints',
    'what the colours mean',
    view,
    h(
      'div',
      { class: 'legend', 'data-testid': 'legend' },
      h('p', {}, TINT_LEGEND_INTRO),
      ...hues.map((hue) => h('div', { class: 'legend-row' }, swatches(hue), h('span', {}, `${capitalize(hueMeaning(hue, concept).colour)}: ${hueMeaning(hue, concept).means}`))),
      h('p', { class: 'muted' }, STRENGTH_LEGEND),
    ),
  );
}

// ---------------------------------------------------------------- lexicon

export function lexiconModeOf(choice: LexiconChoice): LexiconMode {
  return choice.kind === 'file' ? 'custom' : choice.kind;
}

/** The analysis's own remarks in the editor's words (the CLI's mention its commands); random weights has its badge. */
export function editorMessage(m: ReportMessage, run: RunView): string {
  switch (m.code) {
    case 'small-document':
      return `${run.analysis.summary.nTokens} tokens is a small sample: scores are fragile and change with the seed and the settings. "Check stability" under the ${run.analysis.concept.name}-selective list trains more seeds and says which latents come back.`;
    default:
      return m.text.replace(/the lab's score/g, 'the ratio score').replace(/the lab's ratio/g, 'the ratio');
  }
}

function analysisMessages(run: RunView): VNode[] {
  return run.analysis.messages
    .filter((m) => m.code !== 'random-weights' && m.code !== 'no-evidence')
    .map((m) => h('div', { class: `notice notice-${m.level}` }, icon(m.level === 'warning' ? 'warning' : 'info'), ' ', editorMessage(m, run)));
}

export function renderLexicon(run: RunView, view: PanelView): VNode {
  const busy = view.busy !== null;
  const choice = view.state.lexicon;
  const option = (value: LexiconMode, label: string) => h('vscode-option', { value, selected: view.lexiconMode === value }, label);
  return section(
    'lexicon',
    'Concept lexicon',
    run.analysis.concept.lexicon.name,
    view,
    h(
      'vscode-single-select',
      { 'data-testid': 'lexicon-select', 'aria-label': 'Concept lexicon', disabled: busy },
      option('gazetteer', 'Gazetteer: countries, demonyms, regions'),
      option('course', "Course lab's 13 words"),
      option('custom', 'Custom word list…'),
    ),
    view.lexiconMode === 'custom' &&
      h(
        'div',
        { class: 'custom-lexicon' },
        choice.kind === 'file' && h('p', { class: 'muted' }, `In use: ${choice.path}`),
        h('vscode-textarea', {
          'data-testid': 'lexicon-terms',
          'aria-label': 'Custom word list',
          placeholder: 'One word or phrase per line, e.g.\nHungary\nDanube\nCarpathian Basin',
          rows: 6,
          resize: 'vertical',
          value: view.customTerms,
          disabled: busy,
        }),
        button('Re-analyse with this list', 'apply-custom', 'refresh', { disabled: busy }),
      ),
    h('p', { class: 'muted' }, matchedLine(run)),
    analysisMessages(run),
  );
}

function matchedLine(run: RunView): string {
  const c = run.analysis.concept;
  const found = c.matchedTerms.length ? `: ${c.matchedTerms.join(', ')}` : '';
  return `${c.tokens.length} concept tokens, ${c.matchedTerms.length} of ${c.lexicon.terms} terms found${found}. Switching re-runs the analysis (and the causal evidence), not the training.`;
}

// ---------------------------------------------------------------- lists

/** The distinct texts a listed latent fires on, from its heatmap (every firing token), else its top tokens. */
function rowTokens(run: RunView, e: ListedLatent): VNode | false {
  const hm = run.analysis.heatmaps.find((x) => x.latent === e.latent);
  const toks = run.tokens.tokens;
  const firing = hm ? hm.tokens.map((t, i) => ({ text: toks[t]?.text ?? '', value: hm.min + hm.scaled[i] * (hm.max - hm.min) })) : e.topTokens;
  return firing.length > 0 && tokenChips(distinctTokens(firing).slice(0, ROW_TOKENS));
}

function latentRow(latent: number, listKey: string, view: PanelView, metrics: Slot[], tokens: VNode | false): VNode {
  const selected = view.selected === latent;
  const highlighted = view.state.highlighted === latent;
  return h(
    'div',
    {
      class: `row${selected ? ' selected' : ''}`,
      role: 'button',
      tabindex: 0,
      'aria-pressed': selected ? 'true' : 'false',
      'aria-expanded': selected ? 'true' : 'false',
      'data-testid': 'latent-row',
      'data-latent': latent,
      'data-list': listKey,
      title: `Latent ${latent}: open its detail here and highlight it in the editor`,
    },
    h('span', { class: 'latent-id' }, `#${latent}`, highlighted && icon('eye', 'highlighted in the editor')),
    h('span', { class: 'row-body' }, h('span', { class: 'metrics' }, ...metrics), tokens),
  );
}

function ratioMetric(score: number | null, concept: string): VNode {
  const title = `mean activation on ${concept} tokens ÷ mean elsewhere, counting only tokens where it fires`;
  return score === null ? metric('ratio', `only on ${concept} tokens`, `it fires on ${concept} tokens only, so the ratio is undefined: read the effect size`) : metric('ratio', fmt(score), title);
}

function recurrence(stability: StabilityReport | undefined, latent: number): VNode | false {
  const s = stability?.latents.find((l) => l.latent === latent);
  if (!s) return false;
  const n = s.matches.filter((m) => m.recurs).length;
  const title = s.matches.map((m) => `seed ${m.seed}: #${m.latent}, cosine ${m.cos.toFixed(3)}`).join('; ');
  return badge(`recurs in ${n}/${s.matches.length} seeds`, n === s.matches.length ? 'concept' : 'info', `decoder cosine ≥ ${stability!.threshold} with its best match in each other seed: ${title}`);
}

/** A row of the concept list (significant) or of its candidates (not significant: never badged selective). */
function conceptRow(e: ListedLatent, listKey: string, view: PanelView, run: RunView): VNode {
  const a = run.analysis;
  const { alpha, minSupport } = a.options;
  const significant = e.q !== null && e.q <= alpha;
  return latentRow(
    e.latent,
    listKey,
    view,
    [
      ratioMetric(e.score, a.concept.name),
      metric('diff', fmt(e.diff), `mean activation on ${a.concept.name} tokens − on the other tokens, silent tokens counting 0: what the permutation test compares`),
      metric('effect', fmt(e.effect, 2), 'rank-biserial correlation, silent tokens included'),
      metric('p', fmt(e.p, 2), e.p === null ? `not tested: support below ${minSupport}` : `permutation p-value, labels moved in blocks of neighbouring tokens (${e.permutations} permutations)`),
      metric('q', fmt(e.q, 2), `p corrected for the number of latents tested (Benjamini–Hochberg); significant at q ≤ ${alpha}`),
      metric('support', String(e.support), `${a.concept.name} tokens it fires on`),
      metric('punct.', pct(e.punctuationShare), 'share of its activation on punctuation/whitespace tokens'),
      significant
        ? badge(`q ≤ ${alpha}`, 'concept', 'significant after correcting for the number of latents tested')
        : badge(e.p === null ? `not tested (support < ${minSupport})` : 'not significant', 'info', e.p === null ? `it fires on fewer than ${minSupport} concept tokens` : `q above ${alpha}`),
      significant && e.proxy && badge('PROXY?', 'warning', `punctuation ${pct(e.punctuationShare)} / stopword ${pct(e.stopwordShare)} share above the proxy threshold: it may track something that co-occurs with the concept`),
      recurrence(view.state.stability, e.latent),
    ],
    rowTokens(run, e),
  );
}

function punctuationRow(e: ListedLatent, listKey: string, view: PanelView, run: RunView): VNode {
  return latentRow(
    e.latent,
    listKey,
    view,
    [
      metric('punct.', pct(e.punctuationShare), 'share of its activation on punctuation/whitespace tokens'),
      metric('mass', fmt(e.punctuationMass), 'its summed activation on punctuation/whitespace tokens'),
      metric('density', `${fmt(e.densityPct)} %`, '% of tokens it fires on'),
    ],
    rowTokens(run, e),
  );
}

function alwaysOnRow(latent: number, listKey: string, run: RunView, view: PanelView): VNode {
  const t = run.analysis.latents;
  return latentRow(latent, listKey, view, [metric('mean', fmt(t.meanAbs[latent]), 'mean activation over the tokens'), metric('max', fmt(t.max[latent]), 'largest activation')], false);
}

interface ListSpec {
  key: string;
  testid: string;
  heading: string;
  description: string;
  latents: number[];
  row: (i: number) => VNode;
  empty: string;
  before?: Slot[];
  after?: Slot[];
}

function listSpecs(run: RunView, view: PanelView): ListSpec[] {
  const a = run.analysis;
  const { alpha, minSupport } = a.options;
  const c = a.concept.name;
  const specs: ListSpec[] = [
    {
      key: 'geography',
      testid: 'list-geography',
      heading: `${capitalize(c)}-selective`,
      description: `${a.summary.significant} significant · ${a.summary.proxies} proxy`,
      latents: a.conceptList.map((e) => e.latent),
      row: (i) => conceptRow(a.conceptList[i], 'geography', view, run),
      empty: `No latent passes the concept test (q ≤ ${alpha}, support ≥ ${minSupport}): none fires on ${c} tokens more than chance allows. The candidates below are the nearest misses.`,
      after: [
        h('p', { class: 'muted' }, `Ordered by q, then effect. ${a.summary.tested} latents tested (support ≥ ${minSupport}); p from permutations of the ${c} labels in blocks of neighbouring tokens.`),
        stabilityView(run, view),
      ],
    },
    {
      key: 'open:candidates',
      testid: 'list-candidates',
      heading: 'Not significant',
      description: String(a.conceptCandidates.length),
      latents: a.conceptCandidates.map((e) => e.latent),
      row: (i) => conceptRow(a.conceptCandidates[i], 'open:candidates', view, run),
      empty: `No other latent fires on ${c} tokens.`,
    },
    {
      key: 'punctuation',
      testid: 'list-punctuation',
      heading: 'Punctuation-firing',
      description: String(a.punctuationList.length),
      latents: a.punctuationList.map((e) => e.latent),
      row: (i) => punctuationRow(a.punctuationList[i], 'punctuation', view, run),
      empty: `No latent puts ${pct(a.options.punctuationThreshold)} of its mass on punctuation.`,
    },
    {
      key: 'open:always-on',
      testid: 'list-always-on',
      heading: 'Always-on',
      description: String(a.alwaysOn.length),
      latents: a.alwaysOn,
      row: (i) => alwaysOnRow(a.alwaysOn[i], 'open:always-on', run, view),
      empty: 'No latent fires on every token.',
      after: [h('p', { class: 'muted', 'data-testid': 'dead-count' }, `${a.summary.dead} dead latents (fire on no token) of ${a.summary.nLatents}; ${a.summary.nearAlways} fire on at least ${pct(a.options.nearAlways)} of the tokens.`)],
    },
  ];
  return specs;
}

/** How many rows of a list are shown: LIST_SHOWN until the user shows all. */
const shownCount = (spec: Pick<ListSpec, 'key' | 'latents'>, view: Pick<PanelView, 'expanded'>) => (view.expanded.includes(spec.key) ? spec.latents.length : Math.min(LIST_SHOWN, spec.latents.length));

/**
 * Where the selected latent's detail goes: the key of the list it opens in (under its row), or null
 * for the top of the panel — when no open section shows a row of it.
 */
export function detailPlacement(run: RunView, view: PanelView): string | null {
  const latent = view.selected;
  if (latent === null) return null;
  const shown = listSpecs(run, view).filter((s) => isOpen(s.key, view) && s.latents.slice(0, shownCount(s, view)).includes(latent));
  return (shown.find((s) => s.key === view.selectedIn) ?? shown[0])?.key ?? null;
}

export function renderLists(run: RunView, view: PanelView): VNode[] {
  const placement = detailPlacement(run, view);
  return listSpecs(run, view).map((spec) => {
    const n = shownCount(spec, view);
    const rows: VNode[] = [];
    for (let i = 0; i < n; i++) {
      rows.push(spec.row(i));
      if (placement === spec.key && spec.latents[i] === view.selected) {
        const detail = renderDetail(run, view);
        if (detail) rows.push(h('div', { class: 'detail-in-place', 'data-testid': 'detail-in-place' }, detail));
      }
    }
    const hidden = spec.latents.length - n;
    return section(
      spec.key,
      spec.heading,
      spec.description,
      view,
      ...(spec.before ?? []),
      h('div', { class: 'list', 'data-testid': spec.testid, role: 'list' }, rows.length ? rows : h('p', { class: 'muted' }, spec.empty)),
      hidden > 0 && button(`Show all ${spec.latents.length}`, 'show-all', 'unfold', { secondary: true, list: spec.key, testid: 'show-all', title: `${hidden} more` }),
      ...(spec.after ?? []),
    );
  });
}

/** "Check stability" and its result: which of the listed latents come back with other seeds. */
function stabilityView(run: RunView, view: PanelView): VNode {
  const s = view.state.stability;
  const running = view.state.work.stability !== null;
  const seeds = STABILITY_SEEDS;
  const minutes = (run.metrics.total_ms * (seeds - 1)) / 1000;
  const summary =
    s &&
    h(
      'p',
      { 'data-testid': 'stability-result' },
      s.latents.length === 0
        ? 'No latent fires on a concept token: nothing to compare.'
        : `${Math.round(s.recurInAll * s.latents.length)} of ${s.latents.length} compared latents recur in every other seed (seeds ${s.seeds.join(', ')}; recurs = decoder cosine ≥ ${s.threshold} with its best match); per seed: ${s.perRun.map((r) => `${r.seed}: ${pct(r.share)}`).join(', ')}.`,
    );
  return h(
    'div',
    { class: 'stability' },
    h('div', { class: 'actions' }, button('Check stability', 'check-stability', 'beaker', { disabled: running, testid: 'check-stability', title: `Trains ${seeds - 1} more SAEs like this one with the next seeds (about ${Math.max(1, Math.round(minutes))} s) and looks for each listed latent among them` })),
    summary,
  );
}

export { renderDetail } from './detail';
