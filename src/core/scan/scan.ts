/**
 * The layer scan: one SAE per layer of GPT-2 on one text or a corpus, each an ordinary run
 * directory `layer-{L}/` of the scan directory, trained (same SaeConfig and seed in every layer,
 * one after another) or applied from a release's per-layer SAEs (one text only, as apply), analysed
 * and tested like any run; one pass of the model extracts every requested layer's hook. scan.json
 * (format.ts) compares the layers and matches their concept latents across depth (match.ts).
 *
 * Each layer is built in a temp directory beside its `layer-{L}/` and renamed into place when its
 * analysis and evidence are written, so a cancel, an error or a kill leaves every layer directory
 * whole or absent; scan.json is rewritten after each layer. Running the same command again resumes:
 * a layer directory holding a complete run of the same settings is kept (re-analysed only when
 * the analysis request changed); the others are made.
 *
 * A trained scan extracts as `train` does (pipeline.ts, corpus/extract.ts): file by file into
 * activation shards, one store per layer's hook, all of them from the same forward passes; each
 * layer then trains streaming from its shards (so its run is the one `train` makes for that layer
 * alone), and its shards are removed once its directory is in place. A cancelled scan leaves the
 * shards of the layers still to do, which the resumed scan reuses.
 *
 * A release scan holds the activations of the layers still to apply in memory, T × width × 4 bytes
 * per layer (12 layers × 4096 tokens × 768 ≈ 150 MB); above EXTRACT_BUDGET_BYTES the layers are
 * extracted in several passes of as many layers as fit.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveAnalysisOptions, type AnalysisOptions } from '../analysis/analyze';
import { readReport, writeFileAtomic } from '../analysis/reportFile';
import { renderReportHtml } from '../analysis/htmlReport';
import { writeRunAnalysis, writeRunEvidence } from '../analysis/runAnalysis';
import { DEFAULT_RECUR_COSINE } from '../analysis/stability';
import { ANALYSIS_FILE, REPORT_HTML_FILE } from '../analysis/types';
import { checkApplyTokens, encodePrepared, siteHook } from '../apply';
import { cancelledAs, isUserError, throwIfAborted, UserError } from '../errors';
import { hookKindOf, parseHook, type Hook } from '../hooks';
import { resolveModel, type ResolveOptions } from '../model/download';
import { checkFinite, loadModel } from '../model/load';
import type { Corpus } from '../corpus/list';
import type { CorpusLimits } from '../corpus/scan';
import { extractCorpus } from '../corpus/extract';
import { extractProgress, hookShardStore, openTextModel, runTokensOf, scanInput, trainPrepared, type OpenedModel, type PipelineProgress, type Prepared } from '../pipeline';
import { replaceDir, stagingPath } from '../run/atomicDir';
import type { RunTokens } from '../run/format';
import { saeConfigOf, type TrainedCfg } from '../run/runCfg';
import { readRun, readRunInfo, RUN_FILES, type RunContents } from '../run/runDir';
import { saeShape, validateSaeConfig, type SaeConfig, type SaeShape } from '../sae/config';
import { saeInputs } from '../sae/input';
import type { SaeSite } from '../sae/model';
import { findRelease, releaseSae, RELEASES } from '../sae/releases';
import { resolveSae } from '../sae/source';
import { validateTrainOptions, type EngineChoice } from '../sae/train';
import { tokenize } from '../tokenizer';
import { scanEta, type LayerWork } from './eta';
import { SCAN_VERSION, type LayerPair, type LayerRow, type ScanJson, type ScanSettings } from './format';
import { layerDirName, layerHook, parseLayerSpec, resolveLayers, templateKind, templateOf } from './layers';
import { matchPair, neighbourPairs, readMatchSide, type MatchBasis, type MatchSide } from './match';
import { scanSection } from './reportSection';
import { layerRow } from './rows';
import { checkResumable, checkScanTarget, readScan, removeStaleLayers, writeScan } from './scanDir';

/** How each layer gets its SAE. */
export type ScanSae =
  /** Trained with one SaeConfig in every layer, on the template's hook (default: the config's hook kind). */
  | { kind: 'trained'; config: SaeConfig; hookTemplate?: string; engine?: EngineChoice }
  /** Applied: each layer's SAE of a release of the registry. */
  | { kind: 'release'; release: string };

/** 'scan' is reading a corpus's files (pipeline.ts). */
export type ScanPhase = 'scan' | 'download' | 'tokenize' | 'extract' | 'train' | 'encode' | 'write' | 'analyze' | 'evidence';

export interface ScanProgress extends Omit<PipelineProgress, 'phase'> {
  phase: ScanPhase;
  /** The layer worked on, and its place among the layers this command makes or re-analyses. */
  layer?: { layer: number; index: number; count: number };
  /** Time left for the whole scan, once it can be estimated (eta.ts). */
  etaMs?: number;
}

export interface ScanOptions {
  /** The text to scan (with `source`), or… */
  text?: string;
  /** Where the text came from (tokens.json's source). */
  source?: string;
  offset?: number;
  /** …a corpus of files (corpus/list.ts listCorpus) with its limits: trained scans only. */
  corpus?: Corpus & { limits: CorpusLimits };
  /** Where a trained scan's activation shards go (default: each hook's folder under the cache root, pipeline.ts hookShardStore). */
  shardsDir?: string;
  /** Model directory or hub name; undefined: GPT-2 Small (a random stand-in offline, for trained scans only). */
  modelSpec?: string;
  /** `--layers`: "all", "0,3,6", "2-8". */
  layers: string;
  sae: ScanSae;
  analysis: AnalysisOptions;
  /** Causal evidence (CE recovered, ablations) for every layer. */
  evidence: boolean;
  /** Decoder cosine at which a matched latent persists into the neighbouring layer; default 0.9. */
  threshold?: number;
  /** The scan directory. */
  out: string;
  threads?: number;
  hub?: Pick<ResolveOptions, 'cacheDir' | 'endpoint'>;
  onProgress?: (p: ScanProgress) => void;
  signal?: AbortSignal;
}

export interface ScanResult {
  out: string;
  scan: ScanJson;
  /** Requested layers kept from an earlier command, made now (trained or applied), re-analysed now. */
  kept: number[];
  made: number[];
  reanalysed: number[];
  /** The random-weight stand-in's notice, what release SAEs left to assumption, layers made again. */
  notes: string[];
  extract?: { provider: string; ms: number };
  /** A corpus scan: its files scanned and skipped. */
  corpus?: { root: string; files: number; skipped: number };
}

/** Above this many bytes of activations, a release scan's layers still to apply are extracted in several passes. */
export const EXTRACT_BUDGET_BYTES = 1 << 30;

interface LayerPlan {
  layer: number;
  hook: Hook;
  /** Absolute path of layer-{L}/. */
  dir: string;
  work: 'keep' | LayerWork;
  /** Trained: the layer's SaeConfig (its hook resolved) and sizes. */
  train?: { config: SaeConfig; shape: SaeShape };
  /** Applied: the release's SAE and how it is fed. */
  release?: { spec: string; id: string; site: Pick<SaeSite, 'prependBos' | 'centred'> };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** What identifies a run's input in its tokens.json: a corpus's files (path and sha256), or a text's tokens. */
export function inputKey(t: { tokens: Pick<RunTokens['tokens'][number], 'id' | 'start' | 'end'>[]; files?: readonly { path: string; sha256: string }[] }): string {
  return t.files ? t.files.map((f) => `${f.path}\t${f.sha256}`).join('\n') : t.tokens.map((x) => `${x.id}:${x.start}:${x.end}`).join(',');
}

/** Why layer L's run directory is not the one this scan would make, or undefined when it is. */
function runMismatch(run: RunContents, plan: LayerPlan, settings: ScanSettings, input: string): string | undefined {
  const { cfg } = run;
  if (cfg.model.dir !== settings.model.dir) return `it ran on model ${cfg.model.dir ?? '(unrecorded)'}, not ${settings.model.dir}`;
  if (run.tokens.source !== settings.source || run.tokens.offset !== settings.offset || inputKey(run.tokens) !== input) return 'it holds another text';
  if (plan.train) {
    if (!cfg.train) return 'its SAE was not trained here';
    const want = { ...plan.train.config, latents: String(plan.train.shape.nLatents), k: String(plan.train.shape.k) };
    const got = saeConfigOf(cfg as TrainedCfg);
    const diff = Object.keys(want).filter((k) => JSON.stringify(want[k as keyof SaeConfig]) !== JSON.stringify(got[k as keyof SaeConfig]));
    return diff.length ? `its ${diff.join(', ')} differ` : undefined;
  }
  const s = cfg.sae.source;
  return s.kind === 'release' && `${s.release}/${s.id}` === plan.release!.spec ? undefined : 'its SAE is another one';
}

/** Layer L's state on disk: kept as it is, re-analysed, or made; with a note when an existing directory is replaced. */
function inspectLayer(plan: LayerPlan, previous: ScanJson | undefined, settings: ScanSettings, input: string, analysisKey: string): { work: LayerPlan['work']; note?: string } {
  if (!fs.existsSync(plan.dir)) return { work: 'make' };
  let run: RunContents;
  try {
    run = readRun(plan.dir);
  } catch (e) {
    if (!isUserError(e)) throw e;
    return { work: 'make', note: `layer ${plan.layer}: its directory was damaged (${e.message.split('\n')[0]}); made again.` };
  }
  const mismatch = runMismatch(run, plan, settings, input);
  if (mismatch) return { work: 'make', note: `layer ${plan.layer}: its directory held another run (${mismatch}); made again.` };
  try {
    readReport(path.join(plan.dir, ANALYSIS_FILE));
  } catch (e) {
    if (!isUserError(e)) throw e;
    return { work: 'reanalyse' };
  }
  const row = previous?.rows.find((r) => r.layer === plan.layer);
  return { work: row && row.analysisKey === analysisKey && fs.existsSync(path.join(plan.dir, REPORT_HTML_FILE)) ? 'keep' : 'reanalyse' };
}

/** What the scan knows so far: rows of done layers and the matches between neighbouring ones (by "from>to"). */
interface ScanState {
  settings: ScanSettings;
  layers: number[];
  basis: MatchBasis;
  threshold: number;
  rows: Map<number, LayerRow>;
  pairs: Map<string, LayerPair>;
  missing: { layer: number; reason: string }[];
}

const doneLayers = (s: ScanState) => [...s.rows.keys()].sort((a, b) => a - b);

function snapshot(s: ScanState): ScanJson {
  const missing = new Set(s.missing.map((m) => m.layer));
  const done = doneLayers(s);
  return {
    version: SCAN_VERSION,
    updated: new Date().toISOString(),
    settings: s.settings,
    layers: s.layers,
    rows: done.map((L) => s.rows.get(L)!),
    pending: s.layers.filter((L) => !s.rows.has(L) && !missing.has(L)),
    missing: s.missing,
    matching: { basis: s.basis, threshold: s.threshold, pairs: neighbourPairs(done).map(([a, b]) => s.pairs.get(`${a}>${b}`)!) },
  };
}

/**
 * The state with every neighbouring pair of done layers matched: pairs kept when neither layer is in
 * `fresh`, the others computed; `dirOf` says where a layer's run is (a staged one's temp dir).
 */
function withPairs(s: ScanState, fresh: Set<number>, dirOf: (layer: number) => string): ScanState {
  const sides = new Map<number, MatchSide>();
  const side = (L: number) => sides.get(L) ?? sides.set(L, readMatchSide(L, dirOf(L), s.basis)).get(L)!;
  const pairs = new Map<string, LayerPair>();
  for (const [a, b] of neighbourPairs(doneLayers(s))) {
    const key = `${a}>${b}`;
    const had = s.pairs.get(key);
    pairs.set(key, had && !fresh.has(a) && !fresh.has(b) ? had : matchPair(side(a), side(b), s.threshold));
  }
  return { ...s, pairs };
}

/** Rewrites a done layer's report.html with the scan section (the analysis and run files as they are). */
function writeLayerReport(dir: string, scan: ScanJson, layer: number): void {
  const info = readRunInfo(dir);
  const report = readReport(path.join(dir, ANALYSIS_FILE));
  const html = renderReportHtml({ report, tokens: info.tokens.tokens, metrics: info.metrics, sections: [scanSection(scan, layer)] });
  writeFileAtomic(path.join(dir, REPORT_HTML_FILE), html);
}

/** The run files of `from` (not its analysis) in the new directory `to`: hard links (files are only ever replaced, never changed), or copies where links fail. */
function linkRunFiles(from: string, to: string): void {
  fs.mkdirSync(to);
  for (const f of Object.values(RUN_FILES)) {
    try {
      fs.linkSync(path.join(from, f), path.join(to, f));
    } catch {
      fs.copyFileSync(path.join(from, f), path.join(to, f));
    }
  }
}

/** The site groups of the layers to make, each cut into passes that fit the memory budget. */
function extractionPasses(plans: LayerPlan[], T: number): LayerPlan[][] {
  const groups = new Map<string, LayerPlan[]>();
  for (const p of plans) {
    const key = JSON.stringify(p.release?.site ?? {});
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()].flatMap((g) => {
    const perPass = Math.max(1, Math.floor(EXTRACT_BUDGET_BYTES / (T * g[0].hook.width * 4)));
    return Array.from({ length: Math.ceil(g.length / perPass) }, (_, i) => g.slice(i * perPass, (i + 1) * perPass));
  });
}

async function scan(o: ScanOptions): Promise<ScanResult> {
  const progress = o.onProgress ?? (() => {});
  // Everything that does not need the model, before any work.
  if ((o.text === undefined) === (o.corpus === undefined)) throw new Error('runScan needs exactly one of text and corpus');
  const spec = parseLayerSpec(o.layers);
  const threshold = o.threshold ?? DEFAULT_RECUR_COSINE;
  if (!(threshold > -1 && threshold <= 1)) throw new UserError(`the matching threshold is a cosine in (−1, 1], got ${threshold}.`, 'E_USAGE');
  const sae = o.sae;
  let template: string;
  if (sae.kind === 'trained') {
    validateSaeConfig(sae.config);
    validateTrainOptions({ engine: sae.engine, threads: o.threads });
    if (sae.config.layer !== null) throw new UserError(`a scan sets the layer of each run itself; drop the layer (${sae.config.layer}) and choose layers with --layers.`, 'E_USAGE');
    const kind = hookKindOf(sae.config.hook);
    if (!kind) throw new UserError(`unknown hook "${sae.config.hook}"; give a hook template such as blocks.{L}.hook_mlp_out.`, 'E_HOOK');
    template = sae.hookTemplate ?? templateOf(kind);
    templateKind(template);
  } else {
    const r = findRelease(sae.release);
    if (!r) throw new UserError(`--sae-release ${sae.release} is not a release of the registry; choose one of ${RELEASES.map((x) => x.release).join(', ')}.`, 'E_SAE');
    if (o.corpus) throw new UserError(`--sae-release scans one FILE, as \`latent-lens apply\` does (a release's SAEs run on one document); give a file, or train one SAE per layer on the corpus (drop --sae-release).`, 'E_USAGE');
    if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1)) throw new UserError(`threads must be a positive integer, got ${o.threads}.`, 'E_USAGE');
    template = templateOf(r.hookKind as NonNullable<ReturnType<typeof hookKindOf>>);
  }
  resolveAnalysisOptions(o.analysis);
  checkScanTarget(o.out);
  const analysisKey = sha256(JSON.stringify({ analysis: o.analysis, evidence: o.evidence }));

  // The input: a trained scan reads it as train does (a text is a corpus of one file); a release scan tokenizes its text.
  const input = sae.kind === 'trained' ? scanInput({ ...o, onProgress: progress }) : undefined;
  const source = o.corpus?.root ?? o.source ?? 'text';
  const tokens = o.text !== undefined ? tokenize(o.text) : undefined;
  if (sae.kind === 'release') checkApplyTokens(tokens!.length);
  const key = tokens ? inputKey({ tokens }) : inputKey({ tokens: [], files: input!.scan.files });

  // The model.
  const hub: ResolveOptions = {
    ...o.hub,
    signal: o.signal,
    onProgress: (d) => progress({ phase: 'download', message: `downloading ${d.file}`, fraction: d.total ? d.done / d.total : undefined, download: d }),
  };
  let opened: OpenedModel;
  if (sae.kind === 'trained') {
    opened = await openTextModel({ modelSpec: o.modelSpec, signal: o.signal, onProgress: progress });
  } else {
    progress({ phase: 'download', message: `loading model ${o.modelSpec ?? 'gpt2'}` });
    const model = loadModel(await resolveModel(o.modelSpec, hub));
    checkFinite(model);
    opened = { model, info: { name: model.label, dir: path.resolve(model.dir), random_weights: model.randomWeights } };
  }
  const { model, info } = opened;
  const layers = resolveLayers(spec, model.config.nLayer, o.layers);
  const offset = o.corpus ? 0 : (o.offset ?? 0);
  const settings: ScanSettings = {
    source,
    offset,
    textSha256: o.text !== undefined ? sha256(o.text) : sha256(key),
    nTokens: tokens?.length ?? input!.scan.tokens,
    model: info,
    sae: sae.kind === 'trained' ? { kind: 'trained', hookTemplate: template, config: { ...sae.config, hook: template }, engine: sae.engine ?? 'auto' } : { kind: 'release', release: sae.release, hookTemplate: template },
  };
  const previous = readScan(o.out);
  checkResumable(o.out, previous, settings);
  fs.mkdirSync(o.out, { recursive: true });
  removeStaleLayers(o.out);

  // What each requested layer needs.
  let state: ScanState = { settings, layers, basis: sae.kind === 'trained' ? 'learned' : 'decoder', threshold, rows: new Map(), pairs: new Map(), missing: [] };
  const notes = opened.fallback ? [opened.fallback] : [];
  const plans: LayerPlan[] = [];
  for (const L of layers) {
    const dir = path.resolve(o.out, layerDirName(L));
    let plan: LayerPlan;
    if (sae.kind === 'trained') {
      const hook = parseHook(layerHook(template, L), model.config);
      const config = { ...sae.config, hook: hook.name, layer: null };
      plan = { layer: L, hook, dir, work: 'make', train: { config, shape: saeShape(config, hook.width) } };
    } else {
      let id: string;
      try {
        id = releaseSae(findRelease(sae.release)!, { layer: L }).id;
      } catch (e) {
        if (!isUserError(e)) throw e;
        state.missing.push({ layer: L, reason: `release ${sae.release} has no SAE at layer ${L}` });
        continue;
      }
      plan = { layer: L, hook: parseHook(id, model.config), dir, work: 'make', release: { spec: `${sae.release}/${id}`, id, site: { prependBos: false, centred: false } } };
    }
    const seen = inspectLayer(plan, previous, settings, key, analysisKey);
    plan.work = seen.work;
    if (seen.note) notes.push(seen.note);
    if (plan.work === 'keep') state.rows.set(L, previous!.rows.find((r) => r.layer === L)!);
    plans.push(plan);
  }
  // Kept layers keep their matches; the threshold may have changed.
  for (const p of previous?.matching.pairs ?? []) {
    if (state.rows.has(p.from) && state.rows.has(p.to)) state.pairs.set(`${p.from}>${p.to}`, { ...p, latents: p.latents.map((l) => ({ ...l, persists: l.match.cos >= threshold })) });
  }

  // A release's SAEs are fetched before the long work, so that the missing ones are known and named.
  if (sae.kind === 'release') {
    for (const p of plans.filter((x) => x.work === 'make')) {
      progress({ phase: 'download', message: `loading the SAE ${p.release!.spec}` });
      try {
        const r = await resolveSae({ spec: p.release!.spec }, hub);
        p.hook = siteHook(r, model);
        p.release!.site = { prependBos: r.model.site.prependBos, centred: r.model.site.centred };
        notes.push(...r.notes);
      } catch (e) {
        if (!isUserError(e) || !['E_SAE', 'E_DIN', 'E_HOOK'].includes(e.code)) throw e;
        state.missing.push({ layer: p.layer, reason: e.message.split('\n')[0] });
        plans.splice(plans.indexOf(p), 1);
      }
    }
    state.missing.sort((a, b) => a.layer - b.layer);
    if (plans.length === 0) throw new UserError(`release ${sae.release} has none of the requested layers: ${state.missing.map((m) => `layer ${m.layer}: ${m.reason}`).join('; ')}.`, 'E_SAE');
  }
  const dirOf = (L: number) => path.resolve(o.out, layerDirName(L));
  state = withPairs(state, new Set(), dirOf);
  writeScan(o.out, snapshot(state));

  // Make or re-analyse each layer, in order.
  const todo = plans.filter((p): p is LayerPlan & { work: LayerWork } => p.work !== 'keep');
  const toMake = todo.filter((p) => p.work === 'make');
  let extract: ScanResult['extract'];
  let corpus: ScanResult['corpus'];
  // A trained scan: every layer to make extracted now, into its hook's shards, in one pass per window.
  const trained = new Map<number, Prepared>();
  if (sae.kind === 'trained' && toMake.length > 0) {
    const targets = toMake.map((p) => ({ hook: p.hook, store: hookShardStore(model, p.hook, o.shardsDir) }));
    const what = toMake.length === 1 ? toMake[0].hook.name : `${toMake.length} layers (${toMake.map((p) => p.layer).join(', ')})`;
    progress({ phase: 'extract', message: `extracting ${what} of ${o.corpus ? `${input!.scan.files.length} files` : source} (${input!.scan.tokens} tokens) in one pass`, layer: { layer: toMake[0].layer, index: todo.indexOf(toMake[0]), count: todo.length } });
    const ex = await extractCorpus(input!.scan, input!.read, model, targets, { threads: o.threads, signal: o.signal, onProgress: extractProgress(what, progress) });
    const skipped = [...input!.scan.skipped, ...ex.skipped];
    const runTokens = runTokensOf({ corpus: o.corpus, source, offset }, ex, skipped);
    toMake.forEach((p, k) => trained.set(p.layer, { hookName: p.hook.name, shape: p.train!.shape, rows: ex.hooks[k].rows, tokens: runTokens, model: info, shards: { store: targets[k].store, specs: ex.hooks[k].shards } }));
    extract = { provider: ex.provider ?? 'none (every activation was in the shards of an earlier scan)', ms: ex.ms };
    if (o.corpus) corpus = { root: o.corpus.root, files: ex.files.length, skipped: skipped.length };
  }
  const passes = sae.kind === 'release' ? extractionPasses(toMake, tokens!.length) : [];
  const acts = new Map<string, Float32Array>();
  const finished: { work: LayerWork; ms: number }[] = [];
  const fresh = new Set<number>();
  try {
    for (const [index, plan] of todo.entries()) {
      throwIfAborted(o.signal, 'scan');
      const L = plan.layer;
      const at = { layer: L, index, count: todo.length };
      if (plan.work === 'make' && plan.release && !acts.has(plan.hook.name)) {
        const pass = passes.find((ps) => ps.includes(plan))!;
        const site = pass[0].release!.site;
        progress({ phase: 'extract', message: `extracting ${pass.length === 1 ? pass[0].hook.name : `${pass.length} layers (${pass.map((p) => p.layer).join(', ')})`} for ${tokens!.length} tokens in one pass`, layer: at });
        const ex = await saeInputs(tokens!, model, pass.map((p) => p.hook), site, { threads: o.threads, signal: o.signal });
        for (const [name, x] of ex.acts) acts.set(name, x);
        extract = { provider: ex.provider, ms: (extract?.ms ?? 0) + ex.ms };
      }
      const t0 = performance.now();
      const left = todo.slice(index).map((p) => p.work);
      const layerProgress = (p: Omit<ScanProgress, 'layer' | 'etaMs'>) =>
        progress({
          ...p,
          // The run is written into its temp dir first; say where it goes.
          ...(p.phase === 'write' ? { message: `writing ${layerDirName(L)}` } : {}),
          layer: at,
          etaMs: scanEta({ finished, left, elapsedMs: performance.now() - t0, trainEtaMs: p.epoch?.etaMs }),
        });

      const box = stagingPath(plan.dir, `layer ${L}'s run directory`);
      fs.mkdirSync(box);
      try {
        const staged = path.join(box, 'run');
        if (plan.work === 'reanalyse') {
          linkRunFiles(plan.dir, staged);
        } else if (plan.train) {
          await trainPrepared(trained.get(L)!, { sae: plan.train.config, out: staged, engine: sae.kind === 'trained' ? sae.engine : undefined, threads: o.threads, signal: o.signal, onProgress: layerProgress });
        } else {
          const r = await resolveSae({ spec: plan.release!.spec }, hub);
          await encodePrepared(r, plan.hook, acts.get(plan.hook.name)!, tokens!, info, { source, offset, out: staged, threads: o.threads, signal: o.signal, onProgress: layerProgress });
          acts.delete(plan.hook.name);
        }
        const run = readRun(staged);
        layerProgress({ phase: 'analyze', message: `analysing layer ${L}` });
        let { report } = writeRunAnalysis(run, o.analysis);
        if (o.evidence) {
          layerProgress({ phase: 'evidence', message: `causal evidence of layer ${L}: CE with the SAE spliced in, zero-ablated, and latent ablations` });
          ({ report } = await writeRunEvidence(run, report, { modelDir: model.dir, threads: o.threads, signal: o.signal }));
        }
        throwIfAborted(o.signal, 'scan');
        const ms = performance.now() - t0;
        const row = layerRow(L, layerDirName(L), run, report, { evidence: o.evidence, analysisKey, ms });
        const next = withPairs({ ...state, rows: new Map(state.rows).set(L, row) }, new Set([L]), (M) => (M === L ? staged : dirOf(M)));
        writeLayerReport(staged, snapshot(next), L);
        replaceDir(staged, plan.dir);
        state = next;
        fresh.add(L);
        finished.push({ work: plan.work, ms });
      } finally {
        fs.rmSync(box, { recursive: true, force: true });
      }
      const done = trained.get(L);
      if (done) {
        done.shards!.store.remove(done.shards!.specs);
        trained.delete(L);
      }
      writeScan(o.out, snapshot(state));
    }
  } finally {
    // Layers a cancel or failure left untrained: their shards stay for the resumed scan.
    for (const p of trained.values()) p.rows.close?.();
  }

  const final = snapshot(state);
  writeScan(o.out, final);
  // Every report shows the whole scan, now that it is known.
  if (fresh.size > 0) for (const row of final.rows) writeLayerReport(dirOf(row.layer), final, row.layer);
  const made = toMake.map((p) => p.layer);
  const reanalysed = todo.filter((p) => p.work === 'reanalyse').map((p) => p.layer);
  return { out: o.out, scan: final, kept: plans.filter((p) => p.work === 'keep').map((p) => p.layer), made, reanalysed, notes, extract, corpus };
}

/**
 * Scans the layers of GPT-2 on a text or corpus (module comment): checks the settings before any work,
 * resumes what an earlier identical command left, and on a cancel (CancelledError) keeps the
 * finished layers and leaves no trace of the unfinished one.
 */
export function runScan(o: ScanOptions): Promise<ScanResult> {
  return cancelledAs(o.signal, 'scan', () => scan(o));
}
