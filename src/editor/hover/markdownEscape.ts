/**
 * Document text inside a hover's MarkdownString must render as text: no HTML, no emphasis, no links
 * (above all no `command:` links, which a trusted MarkdownString would run). CommonMark lets every
 * ASCII punctuation character be escaped with a backslash, so escaping all of them leaves no markup
 * at all; `<`, `>` and `&` become entities as well because renderers differ in raw-HTML handling,
 * and so does `$`: VS Code turns a `$(name)` left in the rendered text into an icon.
 */
const ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', $: '&#36;' };

export function escapeMarkdown(text: string): string {
  return text.replace(/[!-/:-@[-`{-~]/g, (c) => ENTITIES[c] ?? `\\${c}`);
}

/** A token as text a reader can see: whitespace made visible (· ↵ ⇥), then escaped. */
export function tokenLabel(text: string): string {
  if (text === '') return '(part of a character)';
  const visible = text.replace(/ /g, '·').replace(/\r/g, '␍').replace(/\n/g, '↵').replace(/\t/g, '⇥');
  return escapeMarkdown(visible);
}
