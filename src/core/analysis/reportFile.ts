import * as fs from 'node:fs';
import { UserError } from '../errors';
import { ANALYSIS_VERSION, type AnalysisReport } from './types';

/** Top-level fields every reader relies on; a report missing one is refused. */
const REQUIRED: (keyof AnalysisReport)[] = ['run', 'options', 'summary', 'densityHistogram', 'latents', 'perToken', 'perTokenExcludingAlwaysOn', 'concept', 'conceptList', 'conceptCandidates', 'punctuationList', 'heatmaps', 'messages'];

/** Writes a file via a temp file and a rename, so readers never see half of it. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new UserError(`cannot write ${file}: ${(e as Error).message}. Check that the run directory is writable.`, 'E_OUTPUT');
  }
}

export function writeReport(file: string, report: AnalysisReport): void {
  writeFileAtomic(file, `${JSON.stringify(report)}\n`);
}

/** Reads analysis.json; a missing, malformed, older or newer report is a UserError naming the file. */
export function readReport(file: string): AnalysisReport {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}. Run \`latent-lens analyze RUNDIR\` to write it.`, 'E_REPORT');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); run \`latent-lens analyze RUNDIR\` again to rewrite it.`, 'E_REPORT');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UserError(`${file} is not an analysis report (not a JSON object); run \`latent-lens analyze RUNDIR\` again to rewrite it.`, 'E_REPORT');
  }
  const version = (json as { version?: unknown }).version;
  if (version !== ANALYSIS_VERSION) {
    const older = typeof version === 'number' && version < ANALYSIS_VERSION;
    throw new UserError(
      older || typeof version !== 'number'
        ? `${file} has report version ${JSON.stringify(version ?? null)}, older than the version ${ANALYSIS_VERSION} this Latent Lens reads; run \`latent-lens analyze RUNDIR\` again to rewrite it.`
        : `${file} has report version ${version}, newer than the version ${ANALYSIS_VERSION} this Latent Lens reads; update Latent Lens, or analyse the run again with this version.`,
      'E_REPORT_VERSION',
    );
  }
  const missing = REQUIRED.filter((k) => !(k in json));
  if (missing.length) {
    throw new UserError(`${file} lacks ${missing.join(', ')}: it is damaged; run \`latent-lens analyze RUNDIR\` again to rewrite it.`, 'E_REPORT');
  }
  return json as AnalysisReport;
}
