/**
 * The hover of one token as Markdown text. Everything from the document is escaped; the only links
 * are the two latentLens commands (the MarkdownString that carries this text trusts only those).
 */
import { COMMANDS } from '../commands/ids';
import { escapeMarkdown, tokenLabel } from './markdownEscape';
import type { LatentFacts, LatentFlag, TokenLatent } from '../../shared/runFacts';

export const HOVER_COMMANDS = [COMMANDS.showLatent, COMMANDS.highlightLatent] as const;

export interface HoverInput {
  uri: string;
  tokenText: string;
  tokenIndex: number;
  nTokens: number;
  top: TokenLatent[];
  facts: (latent: number) => LatentFacts;
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

function flagText(flag: LatentFlag, conceptName: string): string {
  switch (flag) {
    case 'concept':
      return `${conceptName}-selective`;
    case 'proxy':
      return 'possible proxy (fires on punctuation/stopwords)';
    case 'punctuation':
      return 'punctuation-firing';
    case 'always-on':
      return 'always on';
    case 'near-always':
      return 'nearly always on';
  }
}

function num(v: number, digits = 3): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e6 || a < 0.001 ? v.toExponential(2) : String(Number(v.toPrecision(digits)));
}

const pval = (v: number | null) => (v === null ? '—' : num(v, 2));

export function commandLink(command: (typeof HOVER_COMMANDS)[number], label: string, args: object): string {
  return `[${label}](command:${command}?${encodeURIComponent(JSON.stringify([args]))} "${label}")`;
}

export function hoverMarkdown(h: HoverInput): string {
  const lines: string[] = [];
  lines.push(`**Latent Lens** · token ${h.tokenIndex + 1} of ${h.nTokens}: **${tokenLabel(h.tokenText)}**`);
  if (h.randomWeights) lines.push('', `⚠ ${escapeMarkdown(h.model)}: latents of a random-weight test model, not of GPT-2.`);
  if (h.stale) lines.push('', '⚠ The document was edited after this run; retrain to update.');
  lines.push('', escapeMarkdown(h.tint), '');
  if (h.top.length === 0) {
    lines.push('No latent fires on this token.');
  } else {
    lines.push(`| latent | activation | density | ${escapeMarkdown(h.conceptName)} score (p, q) | flags | |`, '|---:|---:|---:|---:|---|---|');
    for (const { latent, value } of h.top) {
      const f = h.facts(latent);
      const concept = f.concept ? `${f.concept.score === null ? 'only on concept tokens' : num(f.concept.score)} (p ${pval(f.concept.p)}, q ${pval(f.concept.q)})` : '—';
      const flags = f.flags.map((x) => escapeMarkdown(flagText(x, h.conceptName))).join(', ') || '—';
      const args = { latent, uri: h.uri };
      const links = `${commandLink(COMMANDS.showLatent, 'Show in Latent Browser', args)} · ${commandLink(COMMANDS.highlightLatent, 'Highlight this latent', args)}`;
      lines.push(`| #${latent} | ${num(value)} | ${num(f.densityPct, 2)} % | ${concept} | ${flags} | ${links} |`);
    }
  }
  lines.push('', `_${escapeMarkdown(h.model)} · ${escapeMarkdown(h.hook)}_`);
  return lines.join('\n');
}
