/**
 * A DOM-free description of the panel's markup, so that what it shows can be tested in node and
 * document text can never become markup: a string child is a text node (createTextNode), attribute
 * values go through setAttribute, styles through the CSSOM; nothing is ever parsed as HTML.
 */
export interface VNode {
  tag: string;
  attrs: Record<string, string>;
  /** CSS properties (custom properties included), set with style.setProperty. */
  style: Record<string, string>;
  children: Child[];
}

export type Child = VNode | string;

/** Attribute values: false, null and undefined leave the attribute out; true sets it empty. */
export type Attrs = Record<string, string | number | boolean | null | undefined>;

/** What may stand where a child goes: false, null and undefined (a condition not met) render nothing. */
export type Slot = Child | Child[] | false | null | undefined;

export function h(tag: string, attrs: Attrs = {}, ...children: Slot[]): VNode {
  const a: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    a[k] = v === true ? '' : String(v);
  }
  const kids: Child[] = [];
  for (const c of children) {
    if (c === false || c === null || c === undefined) continue;
    if (Array.isArray(c)) kids.push(...c);
    else kids.push(c);
  }
  return { tag, attrs: a, style: {}, children: kids };
}

export function styled(node: VNode, style: Record<string, string>): VNode {
  return { ...node, style: { ...node.style, ...style } };
}

/** Tag and attribute names come from this code only; event-handler attributes are refused outright. */
const NAME = /^[a-z][a-z0-9-]*$/;

/** The part of `document` that mount uses (a fake one in tests). */
export interface DomFactory {
  createElement(tag: string): DomElement;
  createTextNode(text: string): unknown;
}

export interface DomElement {
  setAttribute(name: string, value: string): void;
  append(...nodes: unknown[]): void;
  style: { setProperty(name: string, value: string): void };
}

export function mount(node: Child, doc: DomFactory): unknown {
  if (typeof node === 'string') return doc.createTextNode(node);
  if (!NAME.test(node.tag) || node.tag === 'script' || node.tag === 'iframe') throw new Error(`refusing to create <${node.tag}>`);
  const el = doc.createElement(node.tag);
  for (const [k, v] of Object.entries(node.attrs)) {
    if (!NAME.test(k) || k.startsWith('on')) throw new Error(`refusing the attribute ${k} on <${node.tag}>`);
    el.setAttribute(k, v);
  }
  for (const [k, v] of Object.entries(node.style)) el.style.setProperty(k, v);
  el.append(...node.children.map((c) => mount(c, doc)));
  return el;
}

