import { test } from 'node:test';
import assert from 'node:assert/strict';
import { h, mount, styled, type DomElement, type DomFactory } from '../../webview/vnode';

interface FakeText {
  text: string;
}
interface FakeElement extends DomElement {
  tag: string;
  attrs: Record<string, string>;
  props: Record<string, string>;
  kids: (FakeElement | FakeText)[];
}

/** A document that records what mount does, and fails on any use of markup parsing. */
function fakeDocument(): DomFactory & { created: string[] } {
  const created: string[] = [];
  return {
    created,
    createElement(tag: string): FakeElement {
      created.push(tag);
      const el: FakeElement = {
        tag,
        attrs: {},
        props: {},
        kids: [],
        setAttribute(name, value) {
          el.attrs[name] = value;
        },
        append(...nodes) {
          el.kids.push(...(nodes as (FakeElement | FakeText)[]));
        },
        style: {
          setProperty(name, value) {
            el.props[name] = value;
          },
        },
      };
      for (const sink of ['innerHTML', 'outerHTML']) {
        Object.defineProperty(el, sink, {
          set() {
            throw new Error(`${sink} was set`);
          },
        });
      }
      return el;
    },
    createTextNode: (text: string): FakeText => ({ text }),
  };
}

test('h drops false, null and undefined children and attributes, and flattens arrays', () => {
  const n = h('div', { a: 'x', b: false, c: null, d: undefined, e: true, f: 3 }, 'one', false, null, undefined, ['two', h('span')]);
  assert.deepEqual(n.attrs, { a: 'x', e: '', f: '3' });
  assert.equal(n.children.length, 3);
  assert.equal(n.children[0], 'one');
});

test('mount turns strings into text nodes, attributes into setAttribute and styles into setProperty', () => {
  const doc = fakeDocument();
  const payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
  const el = mount(styled(h('span', { title: 'token 3', 'data-latent': 7 }, payload), { '--heat': '0.5' }), doc) as FakeElement;
  assert.deepEqual(doc.created, ['span']);
  assert.deepEqual(el.attrs, { title: 'token 3', 'data-latent': '7' });
  assert.deepEqual(el.props, { '--heat': '0.5' });
  assert.deepEqual(el.kids, [{ text: payload }]);
});

test('mount refuses event-handler attributes, odd names and script elements', () => {
  const doc = fakeDocument();
  assert.throws(() => mount(h('img', { onerror: 'alert(1)' }), doc), /onerror/);
  assert.throws(() => mount(h('div', { 'x"y': '1' }), doc), /attribute/);
  assert.throws(() => mount(h('script'), doc), /script/);
  assert.throws(() => mount(h('iframe'), doc), /iframe/);
  assert.throws(() => mount(h('<b>'), doc), /refusing/);
});
