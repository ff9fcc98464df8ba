/**
 * The hover of one token as Markdown text: the token (with the one random-weights or stale notice),
 * which latent set its tint, one compact row per top latent (its numbers, flags, the tokens it
 * promotes, and two icon links), and a one-line legend of the columns. It fits VS Code's hover
 * without scrolling: a hover opens at most max(250 px, a quarter of the editor's height) tall.
 * Everything from the document is escaped; the only links are the two latentLens commands (the
 * MarkdownString that carries this text trusts only those, and renders `$(icon)`s).
 */
import { COMMANDS } from '../commands/ids';
import { escapeMarkdown, tokenLabel } from './markdownEscape';
import type { LatentFacts, LatentFlag, TokenLatent } from '../../shared/runFacts';

export const HOVER_COMMANDS = [COMMANDS.showLatent, COMMANDS.highlightLatent] as const;

/** The tokens a latent promotes most (direct logit effect), as the hover shows them. */
export type Promotes = { tokens: (string | null)[] } | { omitted: string } | 'computing' | 'not computed';

export interface HoverInput {
  uri: string;
  tokenText: string;
  tokenIndex: number;
  nTokens: number;
  top: TokenLatent[];
  facts: (latent: number) => LatentFacts;
  /** The latent's top promoted tokens, from the run's causal evidence. */
  promotes: (latent: number) => Promotes;
  /** The model's label, e.g. "gpt2" or "random test model (seed 0) — RANDOM WEIGHTS". */
  model: string;
  randomWeights: boolean;
  hook: string;
  conceptName: string;
  /** The document was edited after the run. */
  stale: boolean;
  /** Which latent set the token's tint and why (runFacts.ts TintChoice.why). */
  tint: string;
}

/** Promoted tokens shown per row. */
const PROMOTED = 3;

const FLAG_TEXT: Record<LatentFlag, string> = {
  concept: 'selective',
  proxy: 'proxy?',
  punctuation: 'punct.',
  'always-on': 'always on',
  'near-always': 'near-always',
};

function num(v: number, digits = 3): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e6 || a < 0.001 ? v.toExponential(2) : String(Number(v.toPrecision(digits)));
}

const qval = (v: number | null) => (v === null ? 'untested' : `q ${num(v, 2)}`);

export function commandLink(command: (typeof HOVER_COMMANDS)[number], label: string, args: object, title = label): string {
  return `[${label}](command:${command}?${encodeURIComponent(JSON.stringify([args]))} "${title}")`;
}

function promotedText(p: Promotes): string {
  if (p === 'computing') return '…';
  if (p === 'not computed') return '—';
  if ('omitted' in p) return 'n/a';
  return p.tokens.slice(0, PROMOTED).map((t) => (t === null ? '?' : tokenLabel(t))).join(' ') || '—';
}

/** The legend's line: what each column means, and where the latents come from. */
export function columnLegend(concept: string, hook: string): string {
  const c = escapeMarkdown(concept);
  return (
    `_act.: activation · dens.: % of tokens it fires on · ${c}: mean on ${c} tokens ÷ elsewhere, q ≤ 0.05 passes the test · ` +
    `promotes: tokens its direction raises most · ·: a space · ${escapeMarkdown(hook)}_`
  );
}

export function hoverMarkdown(h: HoverInput): string {
  const notices = [
    h.randomWeights ? `⚠ RANDOM WEIGHTS (${escapeMarkdown(h.model.replace(/\s*—\s*RANDOM WEIGHTS$/, ''))}, not GPT-2)` : '',
    h.stale ? '⚠ edited since this run: retrain to update' : '',
  ].filter(Boolean);
  const lines: string[] = [];
  lines.push([`**${tokenLabel(h.tokenText)}** · token ${h.tokenIndex + 1} of ${h.nTokens}`, ...notices].join(' · '), '', escapeMarkdown(h.tint), '');
  if (h.top.length === 0) {
    lines.push('No latent fires on this token.');
  } else {
    lines.push(`| latent | act. | dens. | ${escapeMarkdown(h.conceptName)} | flags | promotes | |`, '|---:|---:|---:|---:|---|---|---|');
    for (const { latent, value } of h.top) {
      const f = h.facts(latent);
      const concept = f.concept ? `${f.concept.score === null ? 'only there' : num(f.concept.score)} (${qval(f.concept.q)})` : '—';
      const flags = f.flags.map((x) => FLAG_TEXT[x]).join(', ') || '—';
      const args = { latent, uri: h.uri };
      const links = `${commandLink(COMMANDS.highlightLatent, '$(eye)', args, `Highlight #${latent} in the editor`)} ${commandLink(COMMANDS.showLatent, '$(link-external)', args, `Show #${latent} in the Latent Browser`)}`;
      lines.push(`| #${latent} | ${num(value)} | ${num(f.densityPct, 2)} % | ${concept} | ${escapeMarkdown(flags)} | ${promotedText(h.promotes(latent))} | ${links} |`);
    }
  }
  lines.push('', columnLegend(h.conceptName, h.randomWeights ? h.hook : `${h.hook} of ${h.model}`));
  return lines.join('\n');
}
