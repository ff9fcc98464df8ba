/**
 * A latent's dashboard in the browser, after sae_vis: its badges and numbers, an activation
 * histogram, its top activating tokens with ±5 tokens of context, the tokens its decoder direction
 * promotes and suppresses (logit effects), what ablating it does to the loss and where it hurts most,
 * and its heatmap over the document. Pure: VNodes from the run, the latent's activations and the
 * run's causal evidence (runFacts.ts).
 */
import { denseHeat, heatIntensity, heatmap } from '../src/core/analysis/heatmap';
import type { Ablation, LatentEvidence, LogitEffects, LogitToken } from '../src/core/evidence/types';
import type { RunToken } from '../src/core/run/format';
import type { RunView } from '../src/shared/protocol';
import { runFacts, type LatentFlag } from '../src/shared/runFacts';
import { badge, button, distinctTokens, fmt, metric, pct, section, signed, tokenChips, tokenLabel, workLine, type BadgeKind } from './parts';
import type { PanelView } from './render';
import { h, styled, type VNode } from './vnode';

/** Rows of the top activating tokens, and tokens of context each side. */
export const TOP_ROWS = 10;
export const CONTEXT = 5;
export const HISTOGRAM_BINS = 20;
/** Positions listed under "hurts most". */
export const HURT_ROWS = 5;

// ---------------------------------------------------------------- pure computations

/** One token of the detail heatmap: its text and the lab's colour intensity, scaled² in [0, 1]. */
export interface HeatCell {
  text: string;
  intensity: number;
  value: number;
}

/** The document's tokens coloured for one latent (heatmap.ts): min–max scaled over all tokens, intensity = scaled². */
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

/** Text of tokens [from, to), one line: newlines and tabs shown as ↵ and ⇥. */
function span(tokens: readonly RunToken[], from: number, to: number): string {
  return tokens
    .slice(Math.max(0, from), Math.max(0, to))
    .map((t) => t.text)
    .join('')
    .replace(/\r?\n/g, '↵')
    .replace(/\t/g, '⇥');
}

export interface ContextRow {
  token: number;
  value: number;
  left: string;
  text: string;
  right: string;
}

/** The top activating tokens, each with `context` tokens either side. */
export function contextRows(tokens: readonly RunToken[], activations: readonly number[], n = TOP_ROWS, context = CONTEXT): ContextRow[] {
  return topTokensOf(tokens, activations, n).map((t) => ({
    token: t.token,
    value: t.value,
    left: span(tokens, t.token - context, t.token),
    text: span(tokens, t.token, t.token + 1),
    right: span(tokens, t.token + 1, t.token + 1 + context),
  }));
}

export interface Histogram {
  /** Bin edges [bins + 1], from the smallest to the largest non-zero activation. */
  edges: number[];
  counts: number[];
  /** Tokens where the latent is 0 (not in the bins). */
  zeros: number;
}

/** Histogram of the latent's non-zero activations in `bins` equal bins; a single value gets one bin. */
export function activationHistogram(activations: readonly number[], bins = HISTOGRAM_BINS): Histogram {
  const firing = activations.filter((v) => v !== 0);
  const zeros = activations.length - firing.length;
  if (firing.length === 0) return { edges: [], counts: [], zeros };
  const lo = Math.min(...firing);
  const hi = Math.max(...firing);
  if (hi === lo) return { edges: [lo, hi], counts: [firing.length], zeros };
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of firing) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * width), counts, zeros };
}

export interface HurtRow {
  /** Position t: the loss of predicting token t + 1. */
  position: number;
  delta: number;
  /** Tokens before the target (up to CONTEXT), and the target. */
  left: string;
  target: string;
}

/** The positions where ablating the latent raises the loss most (Δ > 0), largest first. */
export function hurtMost(tokens: readonly RunToken[], ablation: Ablation, n = HURT_ROWS): HurtRow[] {
  return ablation.perPosition
    .map((delta, position) => ({ delta, position }))
    .filter((e) => e.delta > 0)
    .sort((a, b) => b.delta - a.delta || a.position - b.position)
    .slice(0, n)
    .map((e) => ({ ...e, left: span(tokens, e.position + 1 - CONTEXT, e.position + 1), target: span(tokens, e.position + 1, e.position + 2) }));
}

// ---------------------------------------------------------------- pieces

const FLAG_KINDS: Record<LatentFlag, BadgeKind> = { concept: 'concept', proxy: 'warning', punctuation: 'punctuation', 'always-on': 'info', 'near-always': 'info' };

function flagBadge(flag: LatentFlag, concept: string): VNode {
  const label = flag === 'concept' ? `${concept}-selective` : flag === 'proxy' ? 'PROXY?' : flag === 'punctuation' ? 'punctuation-firing' : flag;
  return badge(label, FLAG_KINDS[flag]);
}

function heatmapView(run: RunView, activations: number[]): VNode {
  const cells = heatCells(run.tokens.tokens, activations).map((c, t) =>
    c.intensity > 0 ? styled(h('span', { class: 'heat', title: `token ${t}: ${fmt(c.value)}` }, c.text), { '--heat': c.intensity.toFixed(3) }) : c.text,
  );
  return h('div', { class: 'heatmap', 'data-testid': 'heatmap', 'aria-label': 'The document, each token shaded by this latent' }, ...cells);
}

function histogramView(hist: Histogram): VNode {
  if (hist.counts.length === 0) return h('p', { class: 'muted' }, 'It fires on no token.');
  const top = Math.max(...hist.counts);
  return h(
    'figure',
    { class: 'histogram', 'data-testid': 'activation-histogram' },
    h(
      'div',
      { class: 'bars', role: 'img', 'aria-label': `Histogram of its ${hist.counts.reduce((a, b) => a + b, 0)} non-zero activations` },
      ...hist.counts.map((c, i) =>
        styled(h('span', { class: 'bar', title: `${fmt(hist.edges[i])} to ${fmt(hist.edges[i + 1])}: ${c} token${c === 1 ? '' : 's'}` }), { '--h': (c / top).toFixed(3) }),
      ),
    ),
    h('figcaption', { class: 'axis' }, h('span', {}, fmt(hist.edges[0])), h('span', { class: 'muted' }, `activation where it fires · ${hist.zeros} tokens at 0 not shown`), h('span', {}, fmt(hist.edges[hist.edges.length - 1]))),
  );
}

function contextView(rows: ContextRow[]): VNode {
  return h(
    'div',
    { class: 'contexts', 'data-testid': 'top-contexts' },
    ...rows.map((r) =>
      h(
        'div',
        { class: 'context-row', title: `token ${r.token}` },
        h('span', { class: 'ctx-left' }, h('span', {}, r.left)),
        h('span', { class: 'ctx-token' }, r.text),
        h('span', { class: 'ctx-right' }, r.right),
        h('span', { class: 'value' }, fmt(r.value)),
      ),
    ),
  );
}

function logitColumn(title: string, tokens: LogitToken[]): VNode {
  return h(
    'div',
    { class: 'logit-col' },
    h('div', { class: 'key' }, title),
    ...tokens.map((t) => h('div', { class: 'logit-row' }, h('span', { class: 'token-chip' }, tokenLabel(t.token)), h('span', { class: 'value' }, signed(t.value)))),
  );
}

function logitView(logits: LogitEffects): VNode {
  if ('omitted' in logits) return h('p', { class: 'muted', 'data-testid': 'logits' }, `No logit effects: ${logits.omitted}`);
  return h('div', { class: 'logits', 'data-testid': 'logits' }, logitColumn('promotes', logits.top), logitColumn('suppresses', logits.bottom));
}

function ablationView(run: RunView, a: Ablation): VNode {
  const concept = run.analysis.concept.name;
  const group = (g: Ablation['conceptNext']) => (g.meanDeltaLoss === null ? '— (no such position)' : `${signed(g.meanDeltaLoss)} over ${g.positions}`);
  const hurt = hurtMost(run.tokens.tokens, a);
  return h(
    'div',
    { class: 'ablation', 'data-testid': 'ablation' },
    h(
      'div',
      { class: 'metrics' },
      metric('mean ΔCE', signed(a.meanDeltaLoss), 'CE with the latent ablated minus clean CE, mean over every position, nats per token'),
      metric('max ΔCE', signed(a.maxDeltaLoss), 'the largest rise of one position’s loss'),
      metric(`next token ${concept}`, group(a.conceptNext), `mean ΔCE over the positions whose next token is a ${concept} token`),
      metric('next token punctuation', group(a.punctuationNext), 'mean ΔCE over the positions whose next token is punctuation'),
    ),
    hurt.length
      ? h(
          'div',
          { class: 'contexts', 'data-testid': 'hurts-most' },
          h('div', { class: 'key' }, 'Hurts most: predicting the underlined token after its context'),
          ...hurt.map((r) => h('div', { class: 'context-row', title: `position ${r.position}` }, h('span', { class: 'ctx-left' }, h('span', {}, r.left)), h('span', { class: 'ctx-token target' }, r.target), h('span', { class: 'ctx-right' }), h('span', { class: 'value' }, signed(r.delta)))),
        )
      : h('p', { class: 'muted' }, 'Ablating it raises no position’s loss.'),
  );
}

/** Logit and ablation effects, or where the run's causal evidence stands for this latent. */
function evidenceView(run: RunView, view: PanelView, latent: number, evidence: LatentEvidence | undefined): VNode[] {
  const e = run.analysis.evidence;
  const work = view.state.work;
  if (evidence) {
    return [h('h4', {}, 'Logit effects (its decoder direction × the unembedding)'), logitView(evidence.logits), h('h4', {}, 'Ablated (the SAE error kept)'), ablationView(run, evidence.ablation)];
  }
  if (work.latentEvidence?.latent === latent) return [workLine('latent-evidence-busy', `Causal evidence of #${latent}: ${work.latentEvidence.line}`, 'cancel-latentEvidence')];
  if (!e) return [h('p', { class: 'muted', 'data-testid': 'evidence-pending' }, work.evidence ? 'Computing causal evidence…' : 'No causal evidence yet.')];
  if ('unavailable' in e) return [h('p', { class: 'muted', 'data-testid': 'evidence-unavailable' }, `No causal evidence for this run: ${e.unavailable}`)];
  return [
    h('p', { class: 'muted' }, `Not among the latents the causal evidence covers (the first ${run.analysis.options.top} of each list).`),
    button(`Compute its logit and ablation effects`, 'latent-evidence', 'beaker', { testid: 'latent-evidence', disabled: work.latentEvidence !== null, title: 'One forward pass of GPT-2 from the hook per window, in the worker' }),
  ];
}

// ---------------------------------------------------------------- the dashboard

export function renderDetail(run: RunView, view: PanelView): VNode | null {
  const latent = view.selected;
  if (latent === null || latent >= run.cfg.sae.d_sae) return null;
  const t = run.analysis.latents;
  const rf = runFacts(run);
  const facts = rf.facts(latent);
  const highlighted = view.state.highlighted === latent;
  const body: (VNode | VNode[] | false)[] = [
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
      metric('max', fmt(t.max[latent]), 'its largest activation'),
      metric('mean', fmt(t.meanAbs[latent]), 'mean activation where it fires'),
      metric('ratio', t.score[latent] === null ? `only on ${run.analysis.concept.name} tokens` : fmt(t.score[latent]), `mean activation on ${run.analysis.concept.name} tokens ÷ mean elsewhere, counting only tokens where it fires`),
      metric('diff', fmt(t.diff[latent]), `mean activation on ${run.analysis.concept.name} tokens − on the others, silent tokens counting 0: what the test compares`),
      metric('effect', fmt(t.effect[latent], 2), 'rank-biserial correlation, silent tokens included'),
      metric('p', fmt(t.p[latent], 2), 'permutation p-value'),
      metric('q', fmt(t.q[latent], 2), 'p corrected for the number of latents tested (Benjamini–Hochberg)'),
      metric('support', String(t.support[latent]), `${run.analysis.concept.name} tokens it fires on`),
      metric('punct.', pct(t.punctuationShare[latent]), 'share of its activation on punctuation/whitespace tokens'),
      metric('stopw.', pct(t.stopwordShare[latent]), 'share of its activation on stopwords'),
    ),
    h(
      'div',
      { class: 'actions' },
      highlighted ? button('Stop highlighting', 'unhighlight', 'eye-closed', { secondary: true }) : button('Highlight in editor', 'highlight', 'eye'),
      button('Close', 'close-detail', 'close', { secondary: true }),
    ),
  ];
  if (view.detail === null) {
    body.push(h('div', { class: 'loading' }, h('vscode-progress-ring', { class: 'ring' }), h('span', {}, 'Reading its activations…')));
  } else if (view.detail.length !== run.tokens.tokens.length) {
    body.push(h('p', { class: 'muted' }, `The host sent ${view.detail.length} activations for ${run.tokens.tokens.length} tokens; train again to refresh the run.`));
  } else {
    const top = topTokensOf(run.tokens.tokens, view.detail, Infinity);
    body.push(
      h('h4', {}, 'Activations'),
      histogramView(activationHistogram(view.detail)),
      h('div', { class: 'top-tokens' }, h('span', { class: 'key' }, 'Top tokens '), top.length ? tokenChips(distinctTokens(top).slice(0, 8)) : h('span', { class: 'muted' }, 'none: it fires on no token')),
      top.length > 0 && h('h4', {}, `Top activating tokens, ±${CONTEXT} tokens of context`),
      top.length > 0 && contextView(contextRows(run.tokens.tokens, view.detail)),
    );
  }
  body.push(...evidenceView(run, view, latent, rf.evidence(latent)));
  if (view.detail !== null && view.detail.length === run.tokens.tokens.length) {
    body.push(h('h4', {}, 'Over the document'), h('p', { class: 'muted' }, "Shade: the activation scaled to the document's range, squared."), heatmapView(run, view.detail));
  }
  return section('detail', `Latent #${latent}`, `${fmt(facts.densityPct)} % dense`, view, h('div', { class: 'detail', 'data-testid': 'latent-detail', 'data-latent': latent }, ...body));
}
