/**
 * What the latent browser shows, as VNode trees (vnode.ts) built from the host's BrowserState and the
 * panel's own UI state. Pure: no DOM, no messages; main.ts mounts the result and wires the events
 * through the data-action / data-latent attributes set here. data-testid values are the e2e tests' hooks.
 */
import { denseHeat, heatIntensity, heatmap } from '../src/core/analysis/heatmap';
import type { ListedLatent, ReportMessage } from '../src/core/analysis/types';
import { saeKindText, saeOriginText } from '../src/core/run/describe';
import type { RunToken } from '../src/core/run/format';
import type { BrowserState, LexiconChoice, RunView } from '../src/shared/protocol';
import { runFacts, type LatentFlag } from '../src/shared/runFacts';
import { h, styled, type Slot, type VNode } from './vnode';

export type LexiconMode = 'gazetteer' | 'course' | 'custom';

/** Everything one render needs: the host's state and what the panel itself remembers. */
export interface PanelView {
  state: BrowserState;
  selected: number | null;
  /** The selected latent's activation on every token ([T]), once the host has sent it. */
  detail: number[] | null;
  /** A re-analysis in progress, in words. */
  busy: string | null;
  error: string | null;
  /** Keys of the sections the user folded, and the `open:` keys of sections closed by default that the user opened. */
  collapsed: readonly string[];
  lexiconMode: LexiconMode;
  customTerms: string;
}

/** Actions of clickable elements (data-action), handled by main.ts. */
export type Action = 'train' | 'highlight' | 'unhighlight' | 'close-detail' | 'apply-custom' | 'dismiss-error';

const TOP_TOKENS = 8;
const ROW_TOKENS = 3;

// ---------------------------------------------------------------- formatting

/** A number for people: 3 significant digits, exponent notation when very small or large, — when undefined. */
export function fmt(v: number | null | undefined, sig = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(sig - 1);
  return String(Number(v.toPrecision(sig)));
}

/** A share in [0, 1] as a percentage. */
function pct(share: number): string {
  return `${fmt(100 * share)} %`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A token's text in a list: quoted, with its whitespace visible ("\n", " Hungary"). */
function tokenLabel(text: string): string {
  return JSON.stringify(text);
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

// ---------------------------------------------------------------- small pieces

function icon(name: string, title?: string): VNode {
  return h('span', { class: `codicon codicon-${name}`, title, 'aria-hidden': title ? undefined : 'true' });
}

function metric(key: string, value: string, title?: string): VNode {
  return h('span', { class: 'metric', title }, h('span', { class: 'key' }, key), ' ', h('span', { class: 'value' }, value));
}

function badge(text: string, kind: 'warning' | 'danger' | 'info' | 'concept' | 'punctuation', title?: string): VNode {
  return h('span', { class: `flag flag-${kind}`, title }, text);
}

/** A collapsible section, open unless the user folded it; a key starting with "open:" is closed until the user opens it. */
function section(key: string, heading: string, description: string, view: { collapsed: readonly string[] }, ...content: Slot[]): VNode {
  const open = key.startsWith('open:') ? view.collapsed.includes(key) : !view.collapsed.includes(key);
  return h('vscode-collapsible', { heading, description, open, 'data-section': key }, h('div', { class: 'section-body' }, ...content));
}

function button(label: string, action: Action, codicon: string, opts: { secondary?: boolean; disabled?: boolean } = {}): VNode {
  return h('vscode-button', { 'data-action': action, icon: codicon, secondary: opts.secondary, disabled: opts.disabled }, label);
}

function tokenChips(tokens: { text: string; value: number }[]): VNode {
  return h('span', { class: 'tokens' }, ...tokens.map((t) => h('span', { class: 'token-chip', title: `activation ${fmt(t.value)}` }, tokenLabel(t.text))));
}

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

/** A re-analysis in progress and the last error: kept in sight at the top of the panel. */
export function renderStatus(view: Pick<PanelView, 'busy' | 'error'>): VNode {
  return h(
    'div',
    { class: 'status' },
    view.busy !== null && h('div', { class: 'notice notice-busy', role: 'status', 'data-testid': 'busy' }, h('vscode-progress-ring', { class: 'ring' }), h('span', {}, view.busy)),
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

export function renderSummary(run: RunView, doc: BrowserState['doc'], view: Pick<PanelView, 'collapsed'>): VNode {
  const s = run.analysis.summary;
  const m = run.metrics;
  const random = randomWeightsText(run);
  const lex = run.analysis.concept.lexicon;
  const items: [string, string, string?][] = [
    ['Tokens', String(s.nTokens)],
    ['Latents', String(s.nLatents), saeKindText(run.cfg.sae)],
    ['FVE', fmt(m.final.fve), 'fraction of variance explained by the reconstruction'],
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
      random &&
        h(
          'div',
          { class: 'random-weights', 'data-testid': 'random-weights', role: 'alert' },
          icon('warning'),
          ' RANDOM WEIGHTS',
          h('span', { class: 'random-why' }, random),
        ),
      doc?.stale && h('div', { class: 'notice notice-warning', 'data-testid': 'stale' }, icon('history'), ' The document changed since this run; train again for current latents.'),
      h('dl', { class: 'facts' }, ...items.flatMap(([k, v, title]) => [h('dt', { title }, k), h('dd', { title }, v)])),
      h('p', { class: 'muted' }, `${run.cfg.model.name} · ${run.cfg.sae.hook_name} · ${saeOriginText(run.cfg)} · lexicon ${lex.name} (${lex.terms} terms, ${run.analysis.concept.matchedTerms.length} found in the text)`),
    ),
  );
}

// ---------------------------------------------------------------- lexicon

export function lexiconModeOf(choice: LexiconChoice): LexiconMode {
  return choice.kind === 'file' ? 'custom' : choice.kind;
}

/** The analysis's own remarks (few concept tokens, empty lexicon, …); random weights has its badge. */
function analysisMessages(messages: ReportMessage[]): VNode[] {
  return messages
    .filter((m) => m.code !== 'random-weights')
    .map((m) => h('div', { class: `notice notice-${m.level}` }, icon(m.level === 'warning' ? 'warning' : 'info'), ' ', m.text));
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
    analysisMessages(run.analysis.messages),
  );
}

function matchedLine(run: RunView): string {
  const c = run.analysis.concept;
  const found = c.matchedTerms.length ? `: ${c.matchedTerms.join(', ')}` : '';
  return `${c.tokens.length} concept tokens, ${c.matchedTerms.length} of ${c.lexicon.terms} terms found${found}. Switching re-runs the analysis, not the training.`;
}

// ---------------------------------------------------------------- lists

function latentRow(latent: number, view: PanelView, metrics: Slot[], tokens: { text: string; value: number }[]): VNode {
  const selected = view.selected === latent;
  const highlighted = view.state.highlighted === latent;
  return h(
    'div',
    {
      class: `row${selected ? ' selected' : ''}`,
      role: 'button',
      tabindex: 0,
      'aria-pressed': selected ? 'true' : 'false',
      'data-testid': 'latent-row',
      'data-latent': latent,
      title: `Latent ${latent}: show its heatmap and highlight it in the editor`,
    },
    h('span', { class: 'latent-id' }, `#${latent}`, highlighted && icon('eye', 'highlighted in the editor')),
    h('span', { class: 'row-body' }, h('span', { class: 'metrics' }, ...metrics), tokens.length > 0 && tokenChips(tokens.slice(0, ROW_TOKENS))),
  );
}

const SCORE_TITLE = "the lab's score: mean non-zero activation on concept tokens ÷ mean elsewhere";
const ONLY_CONCEPT = 'only on concept tokens';
const ONLY_CONCEPT_TITLE = "it fires on concept tokens only, so the lab's ratio is undefined: read the effect size";

function scoreMetric(score: number | null): VNode {
  return score === null ? metric('score', ONLY_CONCEPT, ONLY_CONCEPT_TITLE) : metric('score', fmt(score), SCORE_TITLE);
}

/** A row of the concept list (significant) or of its candidates (not significant: never badged selective). */
function conceptRow(e: ListedLatent, view: PanelView, a: RunView['analysis']): VNode {
  const { alpha, minSupport } = a.options;
  const significant = e.q !== null && e.q <= alpha;
  return latentRow(
    e.latent,
    view,
    [
      scoreMetric(e.score),
      metric('diff', fmt(e.diff), 'mean activation on concept tokens − on the other tokens, zeros included: what the permutation test compares'),
      metric('effect', fmt(e.effect, 2), 'rank-biserial correlation, zeros included'),
      metric('p', fmt(e.p, 2), e.p === null ? `not tested: support below ${minSupport}` : `permutation p-value in blocks of neighbouring tokens (${e.permutations} permutations)`),
      metric('q', fmt(e.q, 2), `Benjamini–Hochberg q; significant at q ≤ ${alpha}`),
      metric('support', String(e.support), 'concept tokens it fires on'),
      metric('punct.', pct(e.punctuationShare), 'share of its activation mass on punctuation/whitespace tokens'),
      significant
        ? badge(`q ≤ ${alpha}`, 'concept', 'significant after the Benjamini–Hochberg correction')
        : badge(e.p === null ? `not tested (support < ${minSupport})` : 'not significant', 'info', e.p === null ? `it fires on fewer than ${minSupport} concept tokens` : `q above ${alpha}`),
      significant && e.proxy && badge('PROXY?', 'warning', `punctuation ${pct(e.punctuationShare)} / stopword ${pct(e.stopwordShare)} share above the proxy threshold: it may track something that co-occurs with the concept`),
    ],
    e.topTokens,
  );
}

function punctuationRow(e: ListedLatent, view: PanelView): VNode {
  return latentRow(
    e.latent,
    view,
    [
      metric('punct.', pct(e.punctuationShare), 'share of its activation mass on punctuation/whitespace tokens'),
      metric('mass', fmt(e.punctuationMass), 'its summed activation on punctuation/whitespace tokens'),
      metric('density', `${fmt(e.densityPct)} %`, '% of tokens it fires on'),
    ],
    e.topTokens,
  );
}

function alwaysOnRow(latent: number, run: RunView, view: PanelView): VNode {
  const t = run.analysis.latents;
  return latentRow(latent, view, [metric('mean', fmt(t.meanAbs[latent]), 'mean activation over the tokens'), metric('max', fmt(t.max[latent]), 'largest activation')], []);
}

function list(testid: string, rows: VNode[], empty: string): VNode {
  return h('div', { class: 'list', 'data-testid': testid, role: 'list' }, rows.length ? rows : h('p', { class: 'muted' }, empty));
}

export function renderLists(run: RunView, view: PanelView): VNode[] {
  const a = run.analysis;
  const { alpha, minSupport } = a.options;
  const concept = capitalize(a.concept.name);
  return [
    section(
      'geography',
      `${concept}-selective`,
      `${a.summary.significant} significant · ${a.summary.proxies} proxy`,
      view,
      list(
        'list-geography',
        a.conceptList.map((e) => conceptRow(e, view, a)),
        `No latent passes the concept test (q ≤ ${alpha}, support ≥ ${minSupport}): none fires on ${a.concept.name} tokens more than chance allows. The candidates below are the nearest misses.`,
      ),
      h('p', { class: 'muted' }, `Ordered by q, then effect. ${a.summary.tested} latents tested (support ≥ ${minSupport}); p from permutations of the concept labels in blocks of neighbouring tokens.`),
    ),
    section(
      'open:candidates',
      'Not significant',
      String(a.conceptCandidates.length),
      view,
      list('list-candidates', a.conceptCandidates.map((e) => conceptRow(e, view, a)), `No other latent fires on ${a.concept.name} tokens.`),
    ),
    section(
      'punctuation',
      'Punctuation-firing',
      String(a.punctuationList.length),
      view,
      list('list-punctuation', a.punctuationList.map((e) => punctuationRow(e, view)), `No latent puts ${pct(a.options.punctuationThreshold)} of its mass on punctuation.`),
    ),
    section(
      'always-on',
      'Always-on',
      String(a.alwaysOn.length),
      view,
      list('list-always-on', a.alwaysOn.map((l) => alwaysOnRow(l, run, view)), 'No latent fires on every token.'),
      h('p', { class: 'muted', 'data-testid': 'dead-count' }, `${a.summary.dead} dead latents (fire on no token) of ${a.summary.nLatents}; ${a.summary.nearAlways} fire on at least ${pct(a.options.nearAlways)} of the tokens.`),
    ),
  ];
}

// ---------------------------------------------------------------- latent detail

/** One token of the detail heatmap: its text and the lab's colour intensity, scaled² in [0, 1]. */
export interface HeatCell {
  text: string;
  intensity: number;
  value: number;
}

/** The document's tokens coloured for one latent, the lab's way (heatmap.ts): min–max scaled over all tokens, intensity = scaled². */
export function heatCells(tokens: readonly RunToken[], activations: readonly number[]): HeatCell[] {
  const firing: number[] = [];
  activations.forEach((v, t) => v !== 0 && firing.push(t));
  const cols = {
    nTokens: tokens.length,
    nLatents: 1,
    colPtr: Int32Array.from([0, firing.length]),
    token: Int32Array.from(firing),
    value: Float32Array.from(firing.map((t) => activations[t])),
  };
  const scaled = denseHeat(heatmap(cols, 0), tokens.length);
  return tokens.map((tok, t) => ({ text: tok.text, intensity: heatIntensity(scaled[t]), value: activations[t] ?? 0 }));
}

/** The latent's strongest tokens, largest first (ties: earlier token first). */
export function topTokensOf(tokens: readonly RunToken[], activations: readonly number[], n: number): { token: number; text: string; value: number }[] {
  return activations
    .map((value, token) => ({ token, value }))
    .filter((e) => e.value > 0 && e.token < tokens.length)
    .sort((x, y) => y.value - x.value || x.token - y.token)
    .slice(0, n)
    .map((e) => ({ ...e, text: tokens[e.token].text }));
}

type BadgeKind = Parameters<typeof badge>[1];
const FLAG_KINDS: Record<LatentFlag, BadgeKind> = { concept: 'concept', proxy: 'warning', punctuation: 'punctuation', 'always-on': 'info', 'near-always': 'info' };

function flagBadge(flag: LatentFlag, concept: string): VNode {
  const label = flag === 'concept' ? `${concept}-selective` : flag === 'proxy' ? 'PROXY?' : flag === 'punctuation' ? 'punctuation-firing' : flag;
  return badge(label, FLAG_KINDS[flag]);
}

function heatmapView(run: RunView, activations: number[]): VNode {
  if (activations.length !== run.tokens.tokens.length) {
    return h('p', { class: 'muted' }, `The host sent ${activations.length} activations for ${run.tokens.tokens.length} tokens; train again to refresh the run.`);
  }
  const cells = heatCells(run.tokens.tokens, activations).map((c, t) =>
    c.intensity > 0 ? styled(h('span', { class: 'heat', title: `token ${t}: ${fmt(c.value)}` }, c.text), { '--heat': c.intensity.toFixed(3) }) : c.text,
  );
  return h('div', { class: 'heatmap', 'data-testid': 'heatmap', 'aria-label': 'The document, each token shaded by this latent' }, ...cells);
}

export function renderDetail(run: RunView, view: PanelView): VNode | null {
  const latent = view.selected;
  if (latent === null || latent >= run.cfg.sae.d_sae) return null;
  const t = run.analysis.latents;
  const facts = runFacts(run).facts(latent);
  const highlighted = view.state.highlighted === latent;
  const tokens = view.detail ? topTokensOf(run.tokens.tokens, view.detail, TOP_TOKENS) : [];
  return section(
    'detail',
    `Latent #${latent}`,
    `${fmt(facts.densityPct)} % dense`,
    view,
    h(
      'div',
      { class: 'detail', 'data-testid': 'latent-detail', 'data-latent': latent },
      h(
        'div',
        { class: 'badges' },
        ...facts.flags.map((f) => flagBadge(f, run.analysis.concept.name)),
        facts.concept && !facts.concept.significant && badge(facts.concept.p === null ? 'not tested' : 'not significant', 'info'),
        t.densityPct[latent] === 0 && badge('dead', 'danger'),
      ),
      h(
        'div',
        { class: 'metrics' },
        metric('density', `${fmt(t.densityPct[latent])} %`, '% of tokens it fires on'),
        metric('max', fmt(t.max[latent])),
        metric('mean', fmt(t.meanAbs[latent]), 'mean activation where it fires'),
        scoreMetric(t.score[latent]),
        metric('diff', fmt(t.diff[latent])),
        metric('effect', fmt(t.effect[latent], 2)),
        metric('p', fmt(t.p[latent], 2)),
        metric('q', fmt(t.q[latent], 2)),
        metric('support', String(t.support[latent])),
        metric('punct.', pct(t.punctuationShare[latent])),
        metric('stopw.', pct(t.stopwordShare[latent])),
      ),
      h(
        'div',
        { class: 'actions' },
        highlighted ? button('Stop highlighting', 'unhighlight', 'eye-closed', { secondary: true }) : button('Highlight in editor', 'highlight', 'eye'),
        button('Close', 'close-detail', 'close', { secondary: true }),
      ),
      view.detail === null
        ? h('div', { class: 'loading' }, h('vscode-progress-ring', { class: 'ring' }), h('span', {}, 'Reading its activations…'))
        : [
            h('div', { class: 'top-tokens' }, h('span', { class: 'key' }, 'Top tokens '), tokens.length ? tokenChips(tokens) : h('span', { class: 'muted' }, 'none: it fires on no token')),
            h('p', { class: 'muted' }, 'Shade = (activation min–max scaled over the document)², as in the lab.'),
            heatmapView(run, view.detail),
          ],
    ),
  );
}
