import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTestModel } from '../../../src/core/model/testModel';
import { saeConfig } from '../../../src/core/sae/config';
import { runScan } from '../../../src/core/scan/scan';
import { parseWebviewMessage } from '../../../src/editor/browser/messages';
import { RunCache } from '../../../src/editor/runCache';
import { docScanOf, firstLayer, scanKey, settingsLayer } from '../../../src/editor/scan/docScan';
import { layerView } from '../../../src/shared/scanView';
import { layerChartConfig, renderLayerTable } from '../../../webview/layers';
import type { VNode } from '../../../webview/vnode';
import { repo, tempRoot } from '../../fixtures/cli';

const root = tempRoot('ll-docscan-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 2, dModel: 64, heads: 4, seed: 0 });
const TEXT = fs.readFileSync(path.join(repo, 'samples', 'palinka.md'), 'utf8');
const cache = new RunCache(path.join(root, 'cache'));
const uri = 'file:///w/doc.md';
const scanDir = cache.scanDir(uri, 'k1');
const scanned = runScan({ text: TEXT, source: uri, modelSpec: modelDir, layers: 'all', sae: { kind: 'trained', config: saeConfig({ latents: '128', k: '8', epochs: 3 }) }, analysis: {}, evidence: false, out: scanDir, threads: 1 });

const textOf = (n: VNode | string): string => (typeof n === 'string' ? n : n.children.map((c) => textOf(c as VNode | string)).join(''));
const find = (n: VNode | string, pred: (v: VNode) => boolean): VNode[] => (typeof n === 'string' ? [] : [...(pred(n) ? [n] : []), ...n.children.flatMap((c) => find(c as VNode | string, pred))]);

test("a run in a scan directory is a layer of that scan, with every done layer's facts; a run elsewhere is none", async () => {
  await scanned;
  const s = docScanOf(path.join(scanDir, 'layer-1'))!;
  assert.equal(s.scanDir, scanDir);
  assert.deepEqual(s.layers.map((l) => [l.layer, l.view.cfg.sae.hook_name]), [
    [0, 'blocks.0.hook_mlp_out'],
    [1, 'blocks.1.hook_mlp_out'],
  ]);
  assert.ok(s.layers[0].facts.top(3).length > 0);
  assert.equal(docScanOf(path.join(root, 'elsewhere', 'run')), undefined);
  fs.writeFileSync(path.join(root, 'scan.json'), '{ damaged');
  assert.equal(docScanOf(path.join(root, 'layer-0')), undefined, 'a damaged scan.json: no scan');
});

test("saving a scan layer's run keeps its scan directory (the other runs of the document go)", async () => {
  await scanned;
  const old = cache.newRunDir(uri);
  fs.mkdirSync(old, { recursive: true });
  cache.save(uri, 1, TEXT, path.join(scanDir, 'layer-0'));
  assert.ok(fs.existsSync(path.join(scanDir, 'layer-1', 'cfg.json')));
  assert.equal(fs.existsSync(old), false);
  assert.equal(cache.lookup(uri, TEXT)?.view.runDir, path.join(scanDir, 'layer-0'));
});

test('the layer shown first: the settings layer when scanned, else the middle done layer; the scan key ignores the layer, not the text', async () => {
  const { scan } = await scanned;
  assert.equal(firstLayer(scan, 1), 1);
  assert.equal(firstLayer(scan, 6), 0);
  const settings = { sae: saeConfig({}), engine: 'auto' as const, analysis: { lexicon: { kind: 'gazetteer' as const }, punctuationShare: 0.5, proxyShare: 0.3 }, maxTokens: 4096 };
  assert.equal(settingsLayer(settings.sae, 12), 6);
  assert.equal(settingsLayer(settings.sae, 2), 1);
  assert.equal(settingsLayer(saeConfig({ layer: 3 }), 12), 3);
  assert.equal(settingsLayer(saeConfig({ hook: 'blocks.4.hook_resid_post' }), 12), 4);
  const job = { text: TEXT, offset: 0, source: uri, settings };
  assert.equal(scanKey(job), scanKey({ ...job, settings: { ...settings, sae: saeConfig({ layer: 2 }) } }));
  assert.equal(scanKey(job), scanKey({ ...job, settings: { ...settings, analysis: { ...settings.analysis, proxyShare: 0.5 } } }), 'a resumed scan re-analyses');
  assert.notEqual(scanKey(job), scanKey({ ...job, text: `${TEXT}!` }));
  assert.notEqual(scanKey(job), scanKey({ ...job, settings: { ...settings, sae: saeConfig({ seed: 1 }) } }));
});

test("the browser's layer view: a row per layer that asks the host to show it, the shown one marked; the chart's series on two axes", async () => {
  const { scan } = await scanned;
  const v = layerView(scanDir, scan, path.join(scanDir, 'layer-1'));
  const rows = find(renderLayerTable(v), (n) => n.attrs['data-testid'] === 'layer-row');
  assert.deepEqual(rows.map((r) => [r.attrs['data-action'], r.attrs['data-layer'], r.attrs.class]), [
    ['show-layer', '0', 'layer-row'],
    ['show-layer', '1', 'layer-row here'],
  ]);
  assert.match(textOf(rows[1]), /^▸ 1/);
  const colors = { foreground: '#999', grid: '#333', loss: '#00f', fve: '#0f0', bars: '#f80', series: ['#111', '#222'] };
  const config = layerChartConfig(v, colors);
  assert.deepEqual(config.data.labels, ['L0', 'L1']);
  const sets = config.data.datasets.map((d) => [d.label, (d as { yAxisID?: string }).yAxisID, d.type]);
  assert.deepEqual(sets, [
    ['FVE', 'share', 'line'],
    ['CE recovered', 'share', 'line'],
    ['dead', 'share', 'line'],
    ['punct.-firing', 'share', 'line'],
    ['proxies', 'share', 'line'],
    ['best effect', 'share', 'line'],
    ['best q', 'share', 'line'],
    ['L0', 'count', 'line'],
    ['significant latents', 'count', 'bar'],
  ]);
  assert.deepEqual(config.data.datasets[0].data, scan.rows.map((r) => r.fve));
  assert.deepEqual(parseWebviewMessage({ type: 'showLayer', layer: 1 }), { type: 'showLayer', layer: 1 });
  for (const layer of [-1, 1.5, '1', null]) assert.equal(parseWebviewMessage({ type: 'showLayer', layer }), undefined);
});
