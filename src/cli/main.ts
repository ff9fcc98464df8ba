import { isUserError } from '../core/errors';
import type { Command } from './args';
import { makeTestModelCommand } from './makeTestModel';
import { extractCommand } from './extract';
import { trainCommand } from './train';
import { analyzeCommand } from './analyze';
import { stabilityCommand } from './stability';
import { scanCommand } from './scan';
import { applyCommand } from './apply';
import { evidenceCommand } from './evidence';
import { exportCommand } from './export';

/** Every subcommand; each lives in src/cli/<name>.ts. */
const commands: Command[] = [makeTestModelCommand, extractCommand, trainCommand, scanCommand, applyCommand, analyzeCommand, evidenceCommand, stabilityCommand, exportCommand];

function help(): string {
  const w = Math.max(...commands.map((c) => c.name.length), 4);
  return [
    'latent-lens — sparse autoencoders on GPT-2 activations, headless',
    '',
    'usage: latent-lens <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run `latent-lens <command> --help` for its options.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 1;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`latent-lens: unknown command "${name}".\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${cmd.usage}`);
    return 0;
  }
  await cmd.run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isUserError(e)) {
      console.error(`latent-lens: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error('latent-lens: internal error —', e);
      process.exitCode = 1;
    }
  },
);
