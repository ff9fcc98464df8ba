/**
 * The latent browser's small pieces: number formats, icons, metrics, badges, buttons, sections and
 * token chips, as VNodes (vnode.ts). Pure, shared by render.ts and detail.ts.
 */
import type { PanelView } from './render';
import { h, type Slot, type VNode } from './vnode';

/** Actions of clickable elements (data-action), handled by main.ts; `show-all` names its list in data-list. */
export type Action =
  | 'train'
  | 'highlight'
  | 'unhighlight'
  | 'close-detail'
  | 'apply-custom'
  | 'dismiss-error'
  | 'show-all'
  | 'latent-evidence'
  | 'check-stability'
  | 'cancel-evidence'
  | 'cancel-latentEvidence'
  | 'cancel-stability';

/** A number for people: 3 significant digits, exponent notation when very small or large, — when undefined. */
export function fmt(v: number | null | undefined, sig = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(sig - 1);
  return String(Number(v.toPrecision(sig)));
}

/** A signed number (+0.12, −0.03): effects on the loss. */
export function signed(v: number | null | undefined, sig = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return v > 0 ? `+${fmt(v, sig)}` : v < 0 ? `−${fmt(-v, sig)}` : '0';
}

/** A share in [0, 1] as a percentage. */
export function pct(share: number): string {
  return `${fmt(100 * share)} %`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A token's text in a list: quoted, with its whitespace visible ("\n", " Hungary"). */
export function tokenLabel(text: string | null): string {
  return text === null ? '(beyond the vocabulary)' : JSON.stringify(text);
}

export const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function icon(name: string, title?: string): VNode {
  return h('span', { class: `codicon codicon-${name}`, title, 'aria-hidden': title ? undefined : 'true' });
}

export function metric(key: string, value: string, title?: string): VNode {
  return h('span', { class: 'metric', title }, h('span', { class: 'key' }, key), ' ', h('span', { class: 'value' }, value));
}

export type BadgeKind = 'warning' | 'danger' | 'info' | 'concept' | 'punctuation';

export function badge(text: string, kind: BadgeKind, title?: string): VNode {
  return h('span', { class: `flag flag-${kind}`, title }, text);
}

/** A collapsible section, open unless the user folded it; a key starting with "open:" is closed until the user opens it. */
export function section(key: string, heading: string, description: string, view: Pick<PanelView, 'collapsed'>, ...content: Slot[]): VNode {
  return h('vscode-collapsible', { heading, description, open: isOpen(key, view), 'data-section': key }, h('div', { class: 'section-body' }, ...content));
}

export function isOpen(key: string, view: Pick<PanelView, 'collapsed'>): boolean {
  return key.startsWith('open:') ? view.collapsed.includes(key) : !view.collapsed.includes(key);
}

export function button(label: string, action: Action, codicon: string, opts: { secondary?: boolean; disabled?: boolean; title?: string; testid?: string; list?: string } = {}): VNode {
  return h('vscode-button', { 'data-action': action, icon: codicon, secondary: opts.secondary, disabled: opts.disabled, title: opts.title, 'data-testid': opts.testid, 'data-list': opts.list }, label);
}

/** A line of work going on in the worker, with its progress and a Stop button. */
export function workLine(testid: string, line: string, cancel: Action): VNode {
  return h(
    'div',
    { class: 'notice notice-busy', role: 'status', 'data-testid': testid },
    h('vscode-progress-ring', { class: 'ring' }),
    h('span', { class: 'grow' }, line),
    h('vscode-button', { 'data-action': cancel, icon: 'debug-stop', secondary: true, title: 'Stop' }),
  );
}

export interface DistinctToken {
  text: string;
  /** How many of the latent's firing tokens have this text. */
  count: number;
  /** Its largest activation on one of them. */
  max: number;
}

/** The distinct texts among a latent's firing tokens, strongest first (ties: more frequent first). */
export function distinctTokens(tokens: readonly { text: string; value: number }[]): DistinctToken[] {
  const by = new Map<string, DistinctToken>();
  for (const t of tokens) {
    const d = by.get(t.text);
    if (d) {
      d.count++;
      d.max = Math.max(d.max, t.value);
    } else by.set(t.text, { text: t.text, count: 1, max: t.value });
  }
  return [...by.values()].sort((a, b) => b.max - a.max || b.count - a.count);
}

/** Token chips `"," ×12`: each distinct text once, with how often it occurs among the latent's firing tokens. */
export function tokenChips(tokens: readonly DistinctToken[]): VNode {
  return h(
    'span',
    { class: 'tokens' },
    ...tokens.map((t) =>
      h('span', { class: 'token-chip', title: `${t.count} token${t.count === 1 ? '' : 's'}, largest activation ${fmt(t.max)}` }, tokenLabel(t.text), t.count > 1 && h('span', { class: 'count' }, ` ×${t.count}`)),
    ),
  );
}
