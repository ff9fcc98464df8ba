/** The scan directory on disk: what may be in it, scan.json, and whether an earlier scan in it can be resumed. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../analysis/reportFile';
import { UserError } from '../errors';
import { removeStale } from '../run/atomicDir';
import { SCAN_FILE, SCAN_VERSION, type ScanJson, type ScanSettings } from './format';
import { LAYER_DIR } from './layers';

/** Temp and aside directories of layer runs (`.layer-6.tmp-<pid>-<hex>`, `.layer-6.old-…`). */
const LAYER_TEMP = /^\.(layer-\d+)\.(?:tmp|old)-\d+-[0-9a-f]+$/;

/** Throws unless `dir` is absent, empty, or holds only what a scan writes (scan.json, layer-N runs, their temp dirs). */
export function checkScanTarget(dir: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`--out ${dir} is a file; give a directory for the scan.`, 'E_OUTPUT');
  const foreign = fs.readdirSync(dir).filter((e) => e !== SCAN_FILE && !LAYER_DIR.test(e) && !LAYER_TEMP.test(e));
  if (foreign.length) {
    throw new UserError(`--out ${dir} holds files a scan does not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); choose another --out, or empty it.`, 'E_OUTPUT');
  }
}

/** Removes the temp dirs of layer runs that processes killed mid-layer left in `dir`. */
export function removeStaleLayers(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const names = new Set(fs.readdirSync(dir).flatMap((e) => LAYER_TEMP.exec(e)?.[1] ?? []));
  for (const name of names) removeStale(dir, name);
}

/** scan.json of `dir`, or undefined when there is none; a damaged or other-version one is a UserError. */
export function readScan(dir: string): ScanJson | undefined {
  const file = path.join(dir, SCAN_FILE);
  if (!fs.existsSync(file)) return undefined;
  let json: ScanJson;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as ScanJson;
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); delete it and run the scan again (finished layers are checked and kept).`, 'E_OUTPUT');
  }
  if (json?.version !== SCAN_VERSION) {
    throw new UserError(`${file} has scan format version ${JSON.stringify(json?.version)}, but this Latent Lens writes version ${SCAN_VERSION}; delete it and run the scan again (finished layers are checked and kept).`, 'E_OUTPUT');
  }
  if (typeof json.settings !== 'object' || !Array.isArray(json.rows) || !Array.isArray(json.matching?.pairs)) {
    throw new UserError(`${file} lacks its settings, rows or matching: it is damaged; delete it and run the scan again (finished layers are checked and kept).`, 'E_OUTPUT');
  }
  return json;
}

export function writeScan(dir: string, scan: ScanJson): void {
  writeFileAtomic(path.join(dir, SCAN_FILE), `${JSON.stringify(scan, null, 1)}\n`);
}

/** Paths of the settings where `a` and `b` differ ("sae.config.epochs", "textSha256"). */
export function settingsDiff(a: unknown, b: unknown, at = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => settingsDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [at || '(all)'];
}

/** An earlier scan with done layers must have been made with the same settings: resuming never mixes two recipes. */
export function checkResumable(dir: string, previous: ScanJson | undefined, settings: ScanSettings): void {
  if (!previous || previous.rows.length === 0) return;
  const diff = settingsDiff(previous.settings, settings);
  if (diff.length === 0) return;
  const show = (s: ScanSettings, k: string) => JSON.stringify(k.split('.').reduce<unknown>((v, p) => (v as Record<string, unknown> | undefined)?.[p], s));
  const what = diff.slice(0, 3).map((k) => `${k} ${show(previous.settings, k)} there, ${show(settings, k)} now`);
  throw new UserError(
    `--out ${dir} holds a scan of ${previous.rows.length} layer(s) made with other settings (${what.join('; ')}${diff.length > 3 ? '; …' : ''}). Run the same command to resume it, or choose another --out for a new scan.`,
    'E_OUTPUT',
  );
}
