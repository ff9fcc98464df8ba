import * as fs from 'node:fs';
import { UserError } from '../errors';
import { writeDirAtomic } from '../run/atomicDir';
import { readRun } from '../run/runDir';
import { saeLensFiles, SAELENS_FILES } from './formats/saelens';
import { sparsifyFiles, SPARSIFY_FILES } from './formats/sparsify';

export const EXPORT_FORMATS = ['saelens', 'sparsify'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Every file either layout's folder may hold, so an earlier export can be replaced and nothing else. */
const EXPORTED: string[] = [...new Set([...Object.values(SAELENS_FILES), ...Object.values(SPARSIFY_FILES)])];

function checkTarget(out: string): void {
  if (!fs.existsSync(out)) return;
  if (!fs.statSync(out).isDirectory()) throw new UserError(`--out ${out} is a file; give a folder for the exported SAE.`, 'E_OUTPUT');
  const foreign = fs.readdirSync(out).filter((f) => !EXPORTED.includes(f));
  if (foreign.length) throw new UserError(`--out ${out} holds other files (${foreign.slice(0, 3).join(', ')}); choose another --out or empty it.`, 'E_OUTPUT');
}

/**
 * Writes the SAE of a run directory as a SAELens (cfg.json + sae_weights.safetensors) or sparsify
 * (cfg.json + sae.safetensors) folder, atomically. Returns the files written.
 */
export function exportRun(runDir: string, format: ExportFormat, out: string): string[] {
  if (!EXPORT_FORMATS.includes(format)) throw new UserError(`unknown export format "${format}"; choose ${EXPORT_FORMATS.join(' or ')}.`, 'E_USAGE');
  const run = readRun(runDir);
  const files = format === 'saelens' ? saeLensFiles(run.sae) : sparsifyFiles(run.sae);
  checkTarget(out);
  writeDirAtomic(out, files, 'the export folder');
  return Object.keys(files);
}
