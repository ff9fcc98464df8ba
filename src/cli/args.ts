import * as fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../core/errors';

/** One `latent-lens` subcommand. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<void>;
}

/** parseArgs with errors that print the command's usage. */
export function parse<T extends ParseArgsConfig['options']>(cmd: Pick<Command, 'usage'>, argv: string[], options: T, positionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: positionals, strict: true });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\nusage: ${cmd.usage}`, 'E_USAGE');
  }
}

/** Parses a numeric flag, naming it in the error. */
export function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UserError(`--${name} must be a number, got "${v}".`, 'E_USAGE');
  return n;
}

/** Reads a text input file, or says plainly why it cannot. */
export function readTextFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}. Give the path of a text file.`, 'E_INPUT');
  }
}
