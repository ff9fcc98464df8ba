/**
 * A layer scan as the editor shows it: the layer view's table and chart (the same columns and
 * series as the terminal and the reports, core/scan/columns.ts), where each layer's run is, and a
 * token's top latent in every layer for the hover.
 */
import * as path from 'node:path';
import { BASIS_TEXT, SCAN_COLUMNS, scanChartSeries, type ScanChartSeries } from '../core/scan/columns';
import type { ScanJson } from '../core/scan/format';
import type { Hue, LatentFlag, RunFacts } from './runFacts';

export interface LayerViewRow {
  layer: number;
  /** Absolute path of the layer's run directory. */
  runDir: string;
  /** One per LayerView.heads after "layer". */
  cells: string[];
}

/** What the latent browser's layer view draws. */
export interface LayerView {
  scanDir: string;
  /** "blocks.{L}.hook_mlp_out, trained, preset seed, seed 0" or "…, release gpt2-small-res-jb". */
  title: string;
  heads: string[];
  rows: LayerViewRow[];
  chart: ScanChartSeries;
  /** The layer whose run the editor shows, when it is one of the rows. */
  current?: number;
  /** Layers not done yet, and the ones a release lacks, in words. */
  notes: string[];
  /** What cross-layer matching compares. */
  matching: string;
}

/** The layer of `scan` (scan.json of `scanDir`) whose run directory is `runDir`, if any. */
export function layerOfRun(scanDir: string, scan: ScanJson, runDir: string): number | undefined {
  return scan.rows.find((r) => path.resolve(scanDir, r.dir) === path.resolve(runDir))?.layer;
}

/** The layer view of `scan` (scan.json of `scanDir`), with `currentRunDir` marked when it is one of its layers. */
export function layerView(scanDir: string, scan: ScanJson, currentRunDir?: string): LayerView {
  const sae = scan.settings.sae;
  const recipe = sae.kind === 'trained' ? `trained, preset ${sae.config.preset}, seed ${sae.config.seed}` : `release ${sae.release}`;
  const rows = scan.rows.map((r) => ({ layer: r.layer, runDir: path.resolve(scanDir, r.dir), cells: SCAN_COLUMNS.map((c) => c.cell(r)) }));
  const current = currentRunDir === undefined ? undefined : layerOfRun(scanDir, scan, currentRunDir);
  return {
    scanDir: path.resolve(scanDir),
    title: `${sae.hookTemplate}, ${recipe}`,
    heads: ['layer', ...SCAN_COLUMNS.map((c) => c.head)],
    rows,
    chart: scanChartSeries(scan.rows),
    current,
    notes: [
      ...(scan.pending.length ? [`Not done yet: layer${scan.pending.length > 1 ? 's' : ''} ${scan.pending.join(', ')} — run the scan again to resume.`] : []),
      ...scan.missing.map((m) => `Layer ${m.layer} skipped: ${m.reason}.`),
    ],
    matching: `Across depth, latents are matched by the cosine of their ${BASIS_TEXT[scan.matching.basis]}; persists at cos ≥ ${scan.matching.threshold}.`,
  };
}

/** A token's strongest latent in one layer's run, or none when no latent fires on it there. */
export interface LayerTopLatent {
  layer: number;
  latent?: number;
  value: number;
  hue?: Hue;
  flags: LatentFlag[];
}

/**
 * For token `token` of the scanned text, its strongest latent by activation in each layer (the
 * first of that run's per-token top, RunFacts.top), in layer order. Every layer of a scan of one
 * text has the same tokens, so one index serves all.
 */
export function topLatentByLayer(layers: readonly { layer: number; facts: RunFacts }[], token: number): LayerTopLatent[] {
  return [...layers]
    .sort((a, b) => a.layer - b.layer)
    .map(({ layer, facts }) => {
      const top = facts.top(token)[0];
      if (!top) return { layer, value: 0, flags: [] };
      return { layer, latent: top.latent, value: top.value, hue: facts.hue(top.latent), flags: facts.facts(top.latent).flags };
    });
}
