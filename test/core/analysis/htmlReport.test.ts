import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeCodes } from '../../../src/core/analysis/analyze';
import { chartJsSource } from '../../../src/core/analysis/chartJs';
import { escapeHtml, renderReportHtml } from '../../../src/core/analysis/htmlReport';
import { FIXTURE, fixtureParts } from './runFixture';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'html-report-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

// A document whose text tries to break out of the page: every token of it must arrive escaped.
const parts = fixtureParts(5, 200);
const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>&amp;"\'';
const tokens = parts.tokens.tokens.map((t, i) => (i === 3 ? { ...t, text: HOSTILE } : t));
const report = analyzeCodes({ tokens, codes: parts.codes, nLatents: FIXTURE.latents, run: { source: 'evil<b>.txt', randomWeights: true, model: 'm' } }, { permutations: 200 });
const html = renderReportHtml({ report, tokens, metrics: parts.metrics });

test('escapeHtml escapes the five HTML-special characters', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('report.html is self-contained: Chart.js embedded, no external resource', () => {
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.ok(html.includes(chartJsSource().slice(0, 2000)), 'the Chart.js UMD build is inlined');
  assert.ok(!/sourceMappingURL/.test(html));
  assert.ok(!/\s(src|href)="(https?:)?\/\//i.test(html), 'no network URL');
  assert.ok(!/<link\b/i.test(html));
  assert.equal((html.match(/<script>/g) ?? []).length, 2);
  assert.equal((html.match(/<\/script>/g) ?? []).length, 2, 'no stray </script> from the text or the data');
});

test('report.html shows summary, loss curve, density histogram, both lists and a heatmap per listed latent', () => {
  for (const id of ['summary', 'charts', 'concept', 'candidates', 'punctuation', 'heatmaps']) assert.ok(html.includes(`<section id="${id}">`), id);
  assert.ok(html.includes('<canvas id="loss">'));
  assert.ok(html.includes('<canvas id="density">'));
  for (const h of report.heatmaps) assert.ok(html.includes(`id="heat-${h.latent}"`), `heatmap ${h.latent}`);
  assert.ok(html.includes('RANDOM WEIGHTS'));
  assert.ok(!renderReportHtml({ report, tokens }).includes('<canvas id="loss">'), 'no metrics: no loss chart');
});

test('report.html: significant latents under "Concept-selective", the rest collapsed as "Not significant", the scheme in the summary', () => {
  const candidates = html.slice(html.indexOf('<section id="candidates">'), html.indexOf('</section>', html.indexOf('<section id="candidates">')));
  assert.match(candidates, /^<section id="candidates"><details><summary>Not significant \(\d+ candidates\)<\/summary>/);
  assert.ok(!/selective/.test(candidates.replace(/None of them is concept-selective/, '')), 'no candidate is called selective');
  for (const e of report.conceptCandidates) assert.ok(candidates.includes(`href="#heat-${e.latent}"`), `candidate ${e.latent}`);
  const concept = html.slice(html.indexOf('<section id="concept">'), html.indexOf('</section>', html.indexOf('<section id="concept">')));
  assert.match(concept, /<h2>Concept-selective latents \("geography"; q ≤ 0\.05, support ≥ 2\)<\/h2>/);
  for (const e of report.conceptList) assert.ok(concept.includes(`href="#heat-${e.latent}"`));
  assert.match(html, /<th>permutation test<\/th><td>mean activation on concept − other tokens, one-sided; concept labels permuted in \d+ blocks of \d+ consecutive tokens/);
  const only = { ...report, conceptList: report.conceptList.map((e) => ({ ...e, score: null })) };
  assert.ok(renderReportHtml({ report: only, tokens }).includes('<td>only on concept tokens</td>'));
});

test('all document text is HTML-escaped', () => {
  assert.ok(!html.includes(HOSTILE));
  assert.ok(!html.includes('<img'));
  assert.ok(!html.includes('alert(1)</script>'));
  assert.ok(html.includes(escapeHtml(HOSTILE)), 'the hostile token shows as text in the heatmaps');
  assert.ok(html.includes('evil&lt;b&gt;.txt'));
  assert.ok(!html.includes('evil<b>'));
});

const CHROMIUM = '/usr/bin/chromium';

test('report.html renders offline in headless Chromium with both charts drawn', { skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} not installed` }, () => {
  const file = path.join(root, 'report.html');
  fs.writeFileSync(file, html);
  const r = spawnSync(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${path.join(root, 'profile')}`, '--virtual-time-budget=5000', '--dump-dom', `file://${file}`],
    { encoding: 'utf8', timeout: 60000 },
  );
  assert.equal(r.status, 0, r.stderr);
  // Chart.js sizes each canvas it draws on: an inline style with box-sizing appears only then.
  assert.match(r.stdout, /<canvas id="loss"[^>]*style="[^"]*box-sizing: border-box/);
  assert.match(r.stdout, /<canvas id="density"[^>]*style="[^"]*box-sizing: border-box/);
  assert.ok(!r.stdout.includes('<img'), 'the hostile token stayed text');
});
