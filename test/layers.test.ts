// The import rule of the source tree (README, "Development"): core ← shared ← worker, cli, webview,
// editor. Nothing outside src/editor imports it, and only the editor shell imports `vscode`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const repo = path.join(__dirname, '..');

type Layer = 'core' | 'shared' | 'worker' | 'cli' | 'editor' | 'webview' | 'entry';

/** What each layer may import (besides itself and npm packages). */
const ALLOWED: Record<Layer, Layer[]> = {
  core: [],
  shared: ['core'],
  worker: ['core', 'shared'],
  cli: ['core', 'shared'],
  webview: ['core', 'shared'],
  editor: ['core', 'shared'],
  entry: ['core', 'shared', 'editor'],
};

function layerOf(file: string): Layer {
  const rel = path.relative(repo, file).split(path.sep);
  if (rel[0] === 'webview') return 'webview';
  if (rel.length === 2) return 'entry'; // src/extension.ts
  return rel[1] as Layer;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const files = [...sources(path.join(repo, 'src')), ...sources(path.join(repo, 'webview'))];
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|require\(['"]([^'"]+)['"]\)/g;

test('src/ holds only entry points at its root', () => {
  const root = fs.readdirSync(path.join(repo, 'src')).filter((f) => f.endsWith('.ts'));
  assert.ok(root.length <= 4, `src/ root has ${root.join(', ')}`);
  assert.deepEqual(root, ['extension.ts']);
});

test('imports only go downward, and only the editor shell imports vscode', () => {
  const problems: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      const where = `${path.relative(repo, file)} imports ${spec}`;
      if (spec === 'vscode' && from !== 'editor' && from !== 'entry') problems.push(where);
      if (!spec.startsWith('.')) continue;
      const to = layerOf(path.resolve(path.dirname(file), spec));
      if (to !== from && !ALLOWED[from].includes(to)) problems.push(`${where} (${from} → ${to})`);
    }
  }
  assert.deepEqual(problems, []);
});
