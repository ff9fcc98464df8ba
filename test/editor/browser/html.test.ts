import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserHtml, contentSecurityPolicy } from '../../../src/editor/browser/html';

const page = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  nonce: 'abc123+/=',
  script: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
  chartScript: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/chart.umd.js',
  style: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.css',
  codicons: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/codicon.css?a="b"&c',
};

test('the CSP lets only nonce-carrying scripts run and loads styles and fonts from the extension only', () => {
  const csp = contentSecurityPolicy(page.cspSource, page.nonce);
  assert.match(csp, /^default-src 'none'; /);
  assert.match(csp, /script-src 'nonce-abc123\+\/='(;|$)/);
  assert.match(csp, new RegExp(`style-src ${page.cspSource.replace(/[.+]/g, '\\$&')};`));
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https:(?!\/\/file)/);
  assert.match(csp, /img-src \S+ data:/);
});

test('the page carries the CSP, both scripts with the nonce and the codicon stylesheet the icon element looks for', () => {
  const html = browserHtml(page);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;nonce-abc123\+\/=&#39;/);
  const scripts = [...html.matchAll(/<script ([^>]*)><\/script>/g)].map((m) => m[1]);
  assert.deepEqual(scripts, [`nonce="${page.nonce}" src="${page.chartScript}"`, `nonce="${page.nonce}" src="${page.script}"`]);
  assert.match(html, /<link id="vscode-codicon-stylesheet" rel="stylesheet" href="[^"]*codicon\.css\?a=&quot;b&quot;&amp;c">/);
  assert.match(html, /<main id="app"><\/main>/);
  assert.doesNotMatch(html, /\s(style|on[a-z]+)=/);
});
