import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LayerRow, ScanJson } from '../../src/core/scan/format';
import { runFacts } from '../../src/shared/runFacts';
import { layerView, topLatentByLayer } from '../../src/shared/scanView';
import { makeRunView } from '../fixtures/runView';

const row = (layer: number, o: Partial<LayerRow> = {}): LayerRow => ({
  layer,
  dir: `layer-${layer}`,
  hook: `blocks.${layer}.hook_mlp_out`,
  dIn: 64,
  dSae: 128,
  fve: 0.5 + layer / 10,
  l0: 8,
  deadPct: 12.5,
  ceRecovered: layer === 0 ? null : 0.8,
  evidence: layer === 0 ? 'zero-ablating costs nothing' : 'ok',
  significant: 3 - layer,
  best: layer === 2 ? null : { latent: 7 + layer, effect: 0.9, q: 0.01 },
  punctuationFiring: 4,
  alive: 112,
  punctuationShare: 4 / 112,
  listed: 3 - layer,
  proxies: 1,
  proxyShare: layer === 2 ? null : 1 / (3 - layer),
  analysisKey: 'k',
  ms: 100,
  ...o,
});

const scan: ScanJson = {
  version: 1,
  updated: '2026-12-01T00:00:00.000Z',
  settings: {
    source: 'doc.md',
    offset: 0,
    textSha256: 'x',
    nTokens: 200,
    model: { name: 'test', dir: '/m', random_weights: true },
    sae: { kind: 'trained', hookTemplate: 'blocks.{L}.hook_mlp_out', config: { preset: 'seed', seed: 0 } as never, engine: 'auto' },
  },
  layers: [0, 1, 2, 3],
  rows: [row(0), row(1), row(2)],
  pending: [3],
  missing: [],
  matching: { basis: 'learned', threshold: 0.9, pairs: [] },
};

test('the layer view: the scan columns per done layer, each layer run directory, the chart series, what is left', () => {
  const v = layerView('/scans/doc', scan, '/scans/doc/layer-1/');
  assert.equal(v.title, 'blocks.{L}.hook_mlp_out, trained, preset seed, seed 0');
  assert.deepEqual(v.heads, ['layer', 'FVE', 'L0', 'dead', 'CE recovered', 'significant', 'best latent', 'its effect', 'its q', 'punct.-firing', 'proxies']);
  assert.deepEqual(v.rows.map((r) => r.runDir), ['/scans/doc/layer-0', '/scans/doc/layer-1', '/scans/doc/layer-2']);
  assert.deepEqual(v.rows[0].cells, ['0.500', '8.0', '12.5 %', '—', '3', '#7', '0.90', '0.010', '4 %', '33 %']);
  assert.deepEqual(v.rows[2].cells.slice(5), ['—', '—', '—', '4 %', '—']);
  assert.equal(v.current, 1);
  assert.equal(layerView('/scans/doc', scan, '/elsewhere/run').current, undefined);
  assert.deepEqual(v.chart.labels, ['L0', 'L1', 'L2']);
  const series = Object.fromEntries(v.chart.shares.map((s) => [s.label, s.data]));
  assert.deepEqual(series['CE recovered'], [null, 0.8, 0.8]);
  assert.deepEqual(series['best effect'], [0.9, 0.9, null]);
  assert.deepEqual(series['best q'], [0.01, 0.01, null]);
  assert.deepEqual(series.dead, [0.125, 0.125, 0.125]);
  assert.deepEqual(v.chart.significant, [3, 2, 1]);
  assert.deepEqual(v.chart.l0, [8, 8, 8]);
  assert.deepEqual(v.notes, ['Not done yet: layer 3 — run the scan again to resume.']);
  assert.match(v.matching, /learned direction .* persists at cos ≥ 0\.9\.$/);
});

test("a token's top latent in each layer: the first of each layer's per-token top, with its hue and flags; none where nothing fires", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latent-lens-scanview-'));
  try {
    const a = makeRunView(path.join(tmp, 'a'));
    const b = makeRunView(path.join(tmp, 'b'));
    const hungary = a.tokens.tokens.findIndex((t) => t.text === ' Hungary');
    b.analysis.perToken.latents[hungary] = [1];
    b.analysis.perToken.values[hungary] = [2.5];
    const c = makeRunView(path.join(tmp, 'c'));
    c.analysis.perToken.latents[hungary] = [];
    c.analysis.perToken.values[hungary] = [];
    const top = topLatentByLayer(
      [
        { layer: 6, facts: runFacts(c) },
        { layer: 0, facts: runFacts(a) },
        { layer: 3, facts: runFacts(b) },
      ],
      hungary,
    );
    assert.deepEqual(top, [
      { layer: 0, latent: 0, value: 4, hue: 'geography', flags: ['concept'] },
      { layer: 3, latent: 1, value: 2.5, hue: 'punctuation', flags: ['punctuation'] },
      { layer: 6, value: 0, flags: [] },
    ]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
