/**
 * A document's layer scan as the editor holds it: the scan directory, its scan.json, and the facts
 * of every done layer's run (for the hover's top latent per layer). A run is a scan's layer when its
 * directory's parent holds a readable scan.json listing it. Free of `vscode`.
 */
import * as path from 'node:path';
import { textSha256 } from '../../core/corpus/text';
import { isUserError } from '../../core/errors';
import { hookKindOf } from '../../core/hooks';
import type { ScanJson } from '../../core/scan/format';
import { readScan } from '../../core/scan/scanDir';
import { runFacts, type RunFacts } from '../../shared/runFacts';
import { layerOfRun } from '../../shared/scanView';
import type { RunView, TrainJob } from '../../shared/protocol';
import { loadRunView } from '../runCache';

export interface DocScan {
  scanDir: string;
  scan: ScanJson;
  /** Every done layer whose run directory is readable, ascending. */
  layers: { layer: number; view: RunView; facts: RunFacts }[];
}

/** The scan `runDir` is a layer of, or undefined when it is none (or its scan.json cannot be read). */
export function docScanOf(runDir: string): DocScan | undefined {
  const scanDir = path.dirname(path.resolve(runDir));
  let scan: ScanJson | undefined;
  try {
    scan = readScan(scanDir);
  } catch (e) {
    if (isUserError(e)) return undefined;
    throw e;
  }
  if (!scan || layerOfRun(scanDir, scan, runDir) === undefined) return undefined;
  const layers = scan.rows.flatMap((r) => {
    const view = loadRunView(path.join(scanDir, r.dir));
    return view ? [{ layer: r.layer, view, facts: runFacts(view) }] : [];
  });
  return { scanDir, scan, layers };
}

/**
 * The layer to show first after a scan: the settings' layer when it was scanned, else the scan's
 * middle done layer.
 */
export function firstLayer(scan: ScanJson, settingsLayer: number): number | undefined {
  const done = scan.rows.map((r) => r.layer);
  if (done.includes(settingsLayer)) return settingsLayer;
  return done[Math.floor((done.length - 1) / 2)];
}

/**
 * What a scan of a document depends on, as a short hash (its directory's name, RunCache.scanDir):
 * the text and where it sits, the model, and the SAE settings but for the layer (the scan sets each
 * run's) — not the analysis, which a resumed scan re-does when it changed.
 */
export function scanKey(job: Pick<TrainJob, 'text' | 'offset' | 'source' | 'settings'>): string {
  const { sae, engine, modelDir, standIn } = job.settings;
  const recipe = { ...sae, layer: null, hook: hookKindOf(sae.hook) ?? sae.hook };
  return textSha256(JSON.stringify([job.source, job.offset, textSha256(job.text), modelDir ?? null, standIn ?? false, engine, recipe])).slice(0, 16);
}

/** The layer a run of these settings trains on a model of `nLayer` blocks: the settings' layer, its hook's, else the middle one (config.ts resolveHook). */
export function settingsLayer(sae: TrainJob['settings']['sae'], nLayer: number): number {
  const named = /^blocks\.(\d+)\./.exec(sae.hook)?.[1];
  return sae.layer ?? (named !== undefined ? Number(named) : Math.floor(nLayer / 2));
}
