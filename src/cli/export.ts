import * as path from 'node:path';
import { UserError } from '../core/errors';
import { EXPORT_FORMATS, exportRun, type ExportFormat } from '../core/sae/export';
import { type Command, parse } from './args';

/** The Python lines that load an exported folder, printed after the export. */
function loadLines(format: ExportFormat, out: string): string {
  const dir = JSON.stringify(path.resolve(out));
  return format === 'saelens'
    ? `from sae_lens import SAE\nsae = SAE.load_from_disk(${dir}, device="cpu")`
    : `from sparsify import Sae\nsae = Sae.load_from_disk(${dir}, device="cpu")`;
}

export const exportCommand: Command = {
  name: 'export',
  summary: "write a run's SAE as a SAELens or sparsify folder, which those libraries load as it is",
  usage: `latent-lens export RUNDIR --format ${EXPORT_FORMATS.join('|')} --out DIR`,
  async run(argv) {
    const { values, positionals } = parse(this, argv, { format: { type: 'string' }, out: { type: 'string' } });
    if (positionals.length !== 1) throw new UserError(`give exactly one RUNDIR (got ${positionals.length}).\nusage: ${this.usage}`, 'E_USAGE');
    if (!values.format || !values.out) throw new UserError(`--format and --out are required.\nusage: ${this.usage}`, 'E_USAGE');
    const format = values.format as ExportFormat;
    const files = exportRun(positionals[0], format, values.out);
    console.log(`wrote ${files.map((f) => path.join(values.out!, f)).join(', ')}\n\nload it in Python:\n${loadLines(format, values.out)}`);
  },
};
