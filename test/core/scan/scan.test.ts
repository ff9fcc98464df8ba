import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReport } from '../../../src/core/analysis/reportFile';
import { writeRunAnalysis, writeRunEvidence } from '../../../src/core/analysis/runAnalysis';
import { ANALYSIS_FILE, type AnalysisReport } from '../../../src/core/analysis/types';
import { isCancelled, UserError } from '../../../src/core/errors';
import { makeTestModel } from '../../../src/core/model/testModel';
import { runPipeline } from '../../../src/core/pipeline';
import { readRun } from '../../../src/core/run/runDir';
import { encodeSafetensors, type Tensor } from '../../../src/core/safetensors';
import { saeConfig } from '../../../src/core/sae/config';
import { initWeights } from '../../../src/core/sae/init';
import { SCAN_FILE, type ScanJson } from '../../../src/core/scan/format';
import { runScan, type ScanOptions, type ScanProgress } from '../../../src/core/scan/scan';
import { repo, tempRoot } from '../../fixtures/cli';
import { fakeHub } from '../../fixtures/fakeHub';
import { randomSae } from '../../fixtures/saeModels';

const root = tempRoot('ll-scan-');
const modelDir = path.join(root, 'model');
makeTestModel({ out: modelDir, layers: 3, dModel: 64, heads: 4, seed: 0 });
const TEXT = fs.readFileSync(path.join(repo, 'samples', 'palinka.md'), 'utf8');
const SMALL = saeConfig({ latents: '128', k: '8', epochs: 5, lr: 1e-3 });
let n = 0;
const out = () => path.join(root, `scan${n++}`);

const options = (o: Partial<ScanOptions> = {}): ScanOptions => ({
  text: TEXT,
  source: 'doc.md',
  modelSpec: modelDir,
  layers: 'all',
  sae: { kind: 'trained', config: SMALL },
  analysis: {},
  evidence: false,
  out: out(),
  threads: 1,
  ...o,
});

const readScanJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, SCAN_FILE), 'utf8')) as ScanJson;
const dotEntries = (dir: string) => fs.readdirSync(dir).filter((e) => e.startsWith('.'));
const fails = (code: string, re: RegExp) => (e: unknown) => (e instanceof UserError && e.code === code && re.test(e.message)) || assert.fail(`${(e as Error).message} (${(e as UserError).code})`);
/** analysis.json without what differs between two identical analyses: the time of writing and the evidence's wall time. */
const comparable = (r: AnalysisReport) => JSON.stringify({ ...r, created: null, evidence: r.evidence && 'fidelity' in r.evidence ? { ...r.evidence, ms: null } : r.evidence });
const metricsWithoutTimes = (dir: string) => {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
  return JSON.stringify({ ...m, total_ms: null, ms_per_epoch: null, curve: m.curve.map((e: { ms: number }) => ({ ...e, ms: null })) });
};

// One full scan with evidence, shared by the tests that read it.
const progress: ScanProgress[] = [];
const full = runScan(options({ evidence: true, onProgress: (p) => progress.push(p) }));

test("a layer's run is exactly what train gives for that layer alone with the same seed (files, analysis, evidence)", async () => {
  const scan = await full;
  assert.deepEqual(scan.made, [0, 1, 2]);
  const trained = path.join(root, 'train-1');
  await runPipeline({ text: TEXT, source: 'doc.md', modelSpec: modelDir, sae: { ...SMALL, layer: 1 }, out: trained, threads: 1 });
  const run = readRun(trained);
  const { report } = writeRunAnalysis(run, {});
  const withEvidence = await writeRunEvidence(run, report, { threads: 1 });
  const layer = path.join(scan.out, 'layer-1');
  for (const f of ['sae.safetensors', 'latents.safetensors', 'cfg.json', 'tokens.json']) assert.ok(fs.readFileSync(path.join(trained, f)).equals(fs.readFileSync(path.join(layer, f))), f);
  assert.equal(metricsWithoutTimes(layer), metricsWithoutTimes(trained));
  assert.ok(withEvidence.report.evidence && 'fidelity' in withEvidence.report.evidence);
  assert.equal(comparable(readReport(path.join(layer, ANALYSIS_FILE))), comparable(withEvidence.report));
});

test('one extraction for every layer; progress names the layer, its place and the time left', async () => {
  await full;
  const extracts = progress.filter((p) => p.phase === 'extract');
  const starts = extracts.filter((p) => /in one pass/.test(p.message));
  assert.equal(starts.length, 1);
  assert.match(starts[0].message, /^extracting 3 layers \(0, 1, 2\) of doc\.md \(\d+ tokens\) in one pass$/);
  // The rest is that one extraction's progress through the file: every layer's hook at once.
  for (const p of extracts.filter((x) => x !== starts[0])) assert.match(p.message, /^extracting 3 layers \(0, 1, 2\): file 1\/1, \d+\/\d+ tokens$/);
  for (const L of [0, 1, 2]) assert.ok(progress.some((p) => p.layer?.layer === L && p.layer.index === L && p.layer.count === 3 && p.phase === 'train' && p.epoch));
  const etas = progress.filter((p) => p.layer?.layer === 2 && p.etaMs !== undefined);
  assert.ok(etas.length > 0, 'an ETA once a layer is done');
  assert.ok(progress.some((p) => p.phase === 'evidence' && p.layer?.layer === 0));
});

test('scan.json: every number is the one its definition reads from the layer\'s files; matches are the best cosines of the learned decoder parts', async () => {
  const { out: dir, scan: s } = await full;
  assert.deepEqual(readScanJson(dir), s);
  assert.deepEqual(s.layers, [0, 1, 2]);
  assert.deepEqual(s.pending, []);
  assert.deepEqual(s.missing, []);
  assert.equal(s.settings.sae.kind === 'trained' && s.settings.sae.hookTemplate, 'blocks.{L}.hook_mlp_out');
  for (const row of s.rows) {
    const run = readRun(path.join(dir, row.dir));
    const report = readReport(path.join(dir, row.dir, ANALYSIS_FILE));
    assert.equal(row.hook, `blocks.${row.layer}.hook_mlp_out`);
    assert.equal(row.fve, run.metrics.final.fve);
    assert.equal(row.l0, run.metrics.final.l0);
    assert.equal(row.deadPct, 100 * run.metrics.final.dead_fraction);
    assert.ok(report.evidence && 'fidelity' in report.evidence);
    assert.equal(row.ceRecovered, report.evidence.fidelity.ceRecovered);
    assert.equal(row.evidence, 'ok');
    assert.equal(row.significant, report.summary.significant);
    assert.deepEqual(row.best, report.conceptList[0] ? { latent: report.conceptList[0].latent, effect: report.conceptList[0].effect, q: report.conceptList[0].q } : null);
    const alive = 128 - report.summary.dead;
    assert.equal(row.alive, alive);
    assert.equal(row.punctuationShare, report.summary.punctuationFiring / alive);
    assert.equal(row.proxyShare, report.conceptList.length ? report.conceptList.filter((l) => l.proxy).length / report.conceptList.length : null);
  }
  assert.deepEqual(
    s.matching.pairs.map((p) => [p.from, p.to]),
    [
      [0, 1],
      [1, 0],
      [1, 2],
      [2, 1],
    ],
  );
  const matched = s.matching.pairs.flatMap((p) => p.latents.map((l) => ({ p, l })));
  assert.ok(matched.length > 0, 'some layer has a significant concept latent to match');
  // Every layer starts from the same W0 (seed 0): the matching compares what training changed, W_dec − W0ᵀ.
  assert.equal(s.matching.basis, 'learned');
  const w0 = initWeights(64, 128, 0); // [d_in, d_sae]
  const cosine = (a: number[], b: number[]) => (Math.hypot(...a) * Math.hypot(...b) === 0 ? 0 : a.reduce((acc, x, i) => acc + x * b[i], 0) / (Math.hypot(...a) * Math.hypot(...b))); // a latent training never moved: 0
  for (const { p, l } of matched) {
    const from = readRun(path.join(dir, `layer-${p.from}`)).sae;
    const to = readRun(path.join(dir, `layer-${p.to}`)).sae;
    const row = (w: Float32Array, j: number) => Array.from(w.subarray(j * 64, (j + 1) * 64));
    const learned = (w: Float32Array, j: number) => row(w, j).map((v, i) => v - w0[i * 128 + j]);
    const cosines = Array.from({ length: 128 }, (_, j) => cosine(learned(from.wDec, l.latent), learned(to.wDec, j)));
    const best = cosines.indexOf(Math.max(...cosines));
    assert.equal(l.match.latent, best, `layer ${p.from} #${l.latent} in layer ${p.to}`);
    assert.ok(Math.abs(l.match.cos - cosines[best]) < 1e-5);
    assert.ok(Math.abs(l.match.decoderCos - cosine(row(from.wDec, l.latent), row(to.wDec, best))) < 1e-5);
    assert.equal(l.persists, l.match.cos >= s.matching.threshold);
    const toReport = readReport(path.join(dir, `layer-${p.to}`, ANALYSIS_FILE));
    assert.equal(l.match.q, toReport.latents.q[best]);
    assert.equal(l.match.significant, toReport.latents.q[best] !== null && toReport.latents.q[best]! <= 0.05 && toReport.latents.support[best] >= 2);
  }
  assert.deepEqual(dotEntries(dir), [], 'no temp directory left');
});

test('each report has the layer scan section: every layer, links to the others, its latents across depth', async () => {
  const { out: dir } = await full;
  const html = fs.readFileSync(path.join(dir, 'layer-1', 'report.html'), 'utf8');
  assert.match(html, /<section id="scan"><h2>Layer scan \(3 of 3 layers, blocks\.\{L\}\.hook_mlp_out\)/);
  assert.match(html, /<tr class="here"><td><b>1<\/b><\/td>/);
  assert.match(html, /<a href="\.\.\/layer-0\/report\.html">0<\/a>/);
  assert.match(html, /<a href="\.\.\/layer-2\/report\.html">2<\/a>/);
  assert.match(html, /Layer 1's concept latents across depth/);
  assert.match(html, /new Chart\(document\.getElementById\('scan-chart'\)/);
  assert.match(fs.readFileSync(path.join(dir, 'layer-0', 'report.html'), 'utf8'), /<tr class="here"><td><b>0<\/b><\/td>[\s\S]*<a href="\.\.\/layer-2\/report\.html">/, 'the first layer written shows the final table too');
});

test('resume: the same command keeps every layer; another analysis re-analyses without training; other SAE settings are refused', async () => {
  const first = await runScan(options({ layers: '0,1' }));
  const dir = first.out;
  const stat = (L: number) => fs.statSync(path.join(dir, `layer-${L}`, 'sae.safetensors'));
  const before = [stat(0).mtimeMs, stat(1).mtimeMs];
  const again = await runScan(options({ layers: '0,1', out: dir }));
  assert.deepEqual([again.kept, again.made, again.reanalysed], [[0, 1], [], []]);
  assert.deepEqual(again.scan.rows, first.scan.rows);
  assert.deepEqual([stat(0).mtimeMs, stat(1).mtimeMs], before);
  const phases = new Set<string>();
  const other = await runScan(options({ layers: '0,1', out: dir, analysis: { proxyThreshold: 0.2 }, onProgress: (p) => phases.add(p.phase) }));
  assert.deepEqual([other.kept, other.made, other.reanalysed], [[], [], [0, 1]]);
  assert.ok(!phases.has('extract') && !phases.has('train'), [...phases].join());
  assert.deepEqual([stat(0).mtimeMs, stat(1).mtimeMs], before, 'the trained files are the same files');
  assert.equal(readReport(path.join(dir, 'layer-0', ANALYSIS_FILE)).options.proxyThreshold, 0.2);
  assert.notEqual(other.scan.rows[0].analysisKey, first.scan.rows[0].analysisKey);
  const more = await runScan(options({ layers: '0-2', out: dir, analysis: { proxyThreshold: 0.2 } }));
  assert.deepEqual([more.kept, more.made], [[0, 1], [2]]);
  assert.deepEqual(
    more.scan.matching.pairs.map((p) => [p.from, p.to]),
    [
      [0, 1],
      [1, 0],
      [1, 2],
      [2, 1],
    ],
  );
  await assert.rejects(runScan(options({ layers: '0,1', out: dir, sae: { kind: 'trained', config: { ...SMALL, epochs: 6 } } })), fails('E_OUTPUT', /holds a scan of 3 layer\(s\) made with other settings \(sae\.config\.epochs 5 there, 6 now\)\. Run the same command to resume it, or choose another --out/));
  await assert.rejects(runScan(options({ layers: '0,1', out: dir, text: `${TEXT} More.` })), fails('E_OUTPUT', /other settings \(textSha256 .*nTokens/));
});

for (const at of ['train', 'evidence'] as const) {
  test(`cancel during layer 1's ${at}: layer 0 is kept whole, layer 1 leaves nothing; the same command resumes`, async () => {
    const ac = new AbortController();
    const o = options({ evidence: at === 'evidence', signal: ac.signal, onProgress: (p) => p.layer?.layer === 1 && p.phase === at && (at !== 'train' || p.epoch?.epoch === 2) && ac.abort() });
    await assert.rejects(runScan(o), isCancelled);
    assert.deepEqual(fs.readdirSync(o.out).sort(), ['layer-0', 'scan.json'], 'no layer-1, no temp directory');
    readRun(path.join(o.out, 'layer-0'));
    readReport(path.join(o.out, 'layer-0', ANALYSIS_FILE));
    const s = readScanJson(o.out);
    assert.deepEqual([s.rows.map((r) => r.layer), s.pending], [[0], [1, 2]]);
    const resumed = await runScan({ ...o, signal: undefined, onProgress: undefined });
    assert.deepEqual([resumed.kept, resumed.made], [[0], [1, 2]]);
    assert.deepEqual(resumed.scan.pending, []);
  });
}

test('bad input: a layer out of range, a hook template without {L}; nothing is written', async () => {
  const a = options({ layers: '0,5' });
  await assert.rejects(runScan(a), fails('E_HOOK', /layer 5 \(--layers 0,5\) is out of range: this model has 3 layers, so layers run from 0 to 2/));
  assert.equal(fs.existsSync(a.out), false);
  const b = options({ sae: { kind: 'trained', config: SMALL, hookTemplate: 'blocks.1.hook_mlp_out' } });
  await assert.rejects(runScan(b), fails('E_USAGE', /hook template "blocks\.1\.hook_mlp_out" has no \{L\}/));
  assert.equal(fs.existsSync(b.out), false);
  const c = options({ layers: '1-0' });
  await assert.rejects(runScan(c), fails('E_USAGE', /--layers "1-0"/));
  const d = options({ sae: { kind: 'trained', config: { ...SMALL, layer: 1 } } });
  await assert.rejects(runScan(d), fails('E_USAGE', /a scan sets the layer of each run itself/));
  const foreign = out();
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
  await assert.rejects(runScan(options({ out: foreign })), fails('E_OUTPUT', /holds files a scan does not write \(notes\.txt\)/));
});

test("a release lacking some requested layers: the others run, the missing ones are named", async () => {
  // A 13-layer model: the registry's GPT-2 Small releases stop at layer 11, and the hub lacks layer 10's folder.
  const deep = path.join(root, 'model13');
  makeTestModel({ out: deep, layers: 13, dModel: 64, heads: 4, seed: 0 });
  const sae = randomSae({ dIn: 64, dSae: 256, activation: 'relu', seed: 3, site: { hookName: 'blocks.11.hook_resid_pre' } });
  const f32 = (data: Float32Array, shape: number[]): Tensor => ({ dtype: 'F32', shape, data });
  const folder = 'jbloom/GPT2-Small-SAEs-Reformatted/blocks.11.hook_resid_pre';
  const hub = await fakeHub({
    [`${folder}/cfg.json`]: Buffer.from(JSON.stringify({ d_in: 64, d_sae: 256, model_name: 'gpt2-small', hook_point: 'blocks.11.hook_resid_pre', hook_point_layer: 11, context_size: 128 })),
    [`${folder}/sae_weights.safetensors`]: encodeSafetensors({ W_enc: f32(sae.wEnc, [64, 256]), b_enc: f32(sae.bEnc, [256]), W_dec: f32(sae.wDec, [256, 64]), b_dec: f32(sae.bDec, [64]) }),
  });
  try {
    const o = options({ modelSpec: deep, layers: '10-12', sae: { kind: 'release', release: 'gpt2-small-res-jb' }, hub: { endpoint: hub.endpoint, cacheDir: path.join(root, 'cache') } });
    const r = await runScan(o);
    assert.deepEqual(r.made, [11]);
    assert.deepEqual(r.scan.rows.map((x) => [x.layer, x.hook]), [[11, 'blocks.11.hook_resid_pre']]);
    assert.deepEqual(r.scan.missing.map((m) => m.layer), [10, 12]);
    assert.match(r.scan.missing[0].reason, /HTTP 404/);
    assert.equal(r.scan.missing[1].reason, 'release gpt2-small-res-jb has no SAE at layer 12');
    assert.deepEqual(r.scan.pending, []);
    const cfg = readRun(path.join(o.out, 'layer-11')).cfg;
    assert.deepEqual(cfg.sae.source, { kind: 'release', release: 'gpt2-small-res-jb', id: 'blocks.11.hook_resid_pre', repo: 'jbloom/GPT2-Small-SAEs-Reformatted', path: 'blocks.11.hook_resid_pre' });
    assert.equal(cfg.sae.prepend_bos, true);
    assert.match(fs.readFileSync(path.join(o.out, 'layer-11', 'report.html'), 'utf8'), /Layer 10 skipped: .*HTTP 404[\s\S]*Layer 12 skipped: release gpt2-small-res-jb has no SAE at layer 12/);
    await assert.rejects(runScan(options({ modelSpec: deep, layers: '12', sae: { kind: 'release', release: 'gpt2-small-res-jb' } })), fails('E_SAE', /release gpt2-small-res-jb has none of the requested layers: layer 12: release gpt2-small-res-jb has no SAE at layer 12/));
  } finally {
    await hub.close();
  }
});
