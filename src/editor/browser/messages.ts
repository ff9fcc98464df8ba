/**
 * What the latent browser's webview may ask of the host, checked like any input: the page renders
 * document text, so the host trusts none of its messages' shapes. A webview can pick a built-in
 * lexicon or send terms, never name a file for the host to read.
 */
import { parseLexicon } from '../../core/analysis/lexicon';
import { UserError } from '../../core/errors';
import type { WebviewToHost } from '../../shared/protocol';

/** Longest custom word list accepted from the panel, in characters. */
export const MAX_CUSTOM_TERMS_CHARS = 200_000;

const isLatent = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** The message if it is a well-formed WebviewToHost the webview may send, else undefined. */
export function parseWebviewMessage(m: unknown): WebviewToHost | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'ready':
    case 'train':
    case 'checkStability':
      return { type: o.type };
    case 'selectLatent':
    case 'loadDetail':
    case 'latentEvidence':
      return isLatent(o.latent) ? { type: o.type, latent: o.latent } : undefined;
    case 'cancelWork':
      return o.work === 'evidence' || o.work === 'latentEvidence' || o.work === 'stability' ? { type: 'cancelWork', work: o.work } : undefined;
    case 'highlightLatent':
      return o.latent === null || isLatent(o.latent) ? { type: 'highlightLatent', latent: o.latent } : undefined;
    case 'changeLexicon': {
      const kind = (o.lexicon as { kind?: unknown } | null)?.kind;
      return kind === 'gazetteer' || kind === 'course' ? { type: 'changeLexicon', lexicon: { kind } } : undefined;
    }
    case 'customLexicon':
      return typeof o.terms === 'string' ? { type: 'customLexicon', terms: o.terms } : undefined;
    default:
      return undefined;
  }
}

/**
 * The custom word list as a lexicon file's text, or a UserError saying what to fix. Written as a JSON
 * array so that a term such as "#hashtag" or "[Hungary" reads back as itself (lexicon.ts parseLexicon).
 */
export function customLexiconText(terms: string): string {
  if (terms.length > MAX_CUSTOM_TERMS_CHARS) {
    throw new UserError(`the custom word list has ${terms.length} characters, more than ${MAX_CUSTOM_TERMS_CHARS}; shorten it, or put it in a file and name it in latentLens.concept.lexiconFile.`, 'E_LEXICON');
  }
  const list = parseLexicon(terms, 'the custom word list');
  if (list.length === 0) throw new UserError('the custom word list is empty: type one word or phrase per line (e.g. Hungary), then re-analyse.', 'E_LEXICON');
  return `${JSON.stringify(list, null, 1)}\n`;
}
