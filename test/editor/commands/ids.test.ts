import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMANDS, CONTEXT } from '../../../src/editor/commands/ids';

interface Manifest {
  activationEvents?: string[];
  contributes: { commands: { command: string; title: string }[]; menus: Record<string, { command?: string; when?: string }[]> };
}
const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as Manifest;

test('the command table and package.json contributes.commands name the same commands', () => {
  const contributed = manifest.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(contributed, Object.values(COMMANDS).sort());
  for (const c of manifest.contributes.commands) assert.ok(c.title.trim().length > 0, `${c.command} has a title`);
});

test('menus name only commands of the table, and their when clauses only known context keys', () => {
  const ids = new Set<string>(Object.values(COMMANDS));
  const keys = new Set<string>(Object.values(CONTEXT));
  for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
    for (const item of items) {
      if (item.command) assert.ok(ids.has(item.command), `${menu}: ${item.command} is not in the command table`);
      for (const key of item.when?.match(/latentLens\.[A-Za-z.]+/g) ?? []) assert.ok(keys.has(key), `${menu}: when clause reads unknown context key ${key}`);
    }
  }
});
