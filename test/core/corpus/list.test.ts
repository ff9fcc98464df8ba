import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCorpus } from '../../../src/core/corpus/list';
import { scanCorpus, type CorpusLimits } from '../../../src/core/corpus/scan';
import { UserError } from '../../../src/core/errors';
import { countTokens } from '../../../src/core/tokenizer';
import { tempRoot } from '../../fixtures/cli';

const root = tempRoot('corpus-list-');

function tree(dir: string, files: Record<string, string | Buffer>): string {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

const userError = (re: RegExp, code?: string) => (e: unknown) => e instanceof UserError && re.test(e.message) && (code === undefined || e.code === code);
const limits = (maxTokens = 1000, maxFileBytes = 10_000): CorpusLimits => ({ maxTokens: { value: maxTokens, setting: '--max-tokens' }, maxFileBytes: { value: maxFileBytes, setting: '--max-file-bytes' } });

test('a folder: every file below it in path order, without hidden ones and what .gitignore files say (nested ones, and the work tree’s above it)', () => {
  const repo = tree(path.join(root, 'repo'), {
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.gitignore': 'secret/\n*.log\n',
    'docs/.gitignore': 'draft.md\n!keep.log\n',
    'docs/a.md': 'alpha',
    'docs/b/c.txt': 'gamma',
    'docs/draft.md': 'not yet',
    'docs/run.log': 'log',
    'docs/keep.log': 'kept',
    'docs/secret/x.md': 'hidden by the work tree’s .gitignore',
    'docs/.notes.md': 'hidden file',
  });
  const c = listCorpus([path.join(repo, 'docs')]);
  assert.equal(c.root, path.join(repo, 'docs'));
  assert.deepEqual(c.files.map((f) => f.path), ['a.md', 'b/c.txt', 'keep.log']);
  assert.deepEqual(listCorpus([path.join(repo, 'docs')], { gitignore: false }).files.map((f) => f.path), ['a.md', 'b/c.txt', 'draft.md', 'keep.log', 'run.log', 'secret/x.md']);
  assert.deepEqual(listCorpus([path.join(repo, 'docs')], { include: ['**/*.{md,txt}'], exclude: ['b/**'] }).files.map((f) => f.path), ['a.md']);
});

test('several include and exclude globs: a file is kept when any include matches and dropped when any exclude matches it or a folder above it (as files.exclude)', () => {
  const dir = tree(path.join(root, 'globs'), { 'a.md': 'a', 'b.txt': 'b', 'c.rst': 'c', 'node_modules/m/x.md': 'x', 'out/y.md': 'y', 'src/out/z.md': 'z', 'src/w.md': 'w' });
  const paths = (o: Parameters<typeof listCorpus>[1]) => listCorpus([dir], o).files.map((f) => f.path);
  assert.deepEqual(paths({ include: ['**/*.md', '*.txt'], exclude: ['**/node_modules', 'out'] }), ['a.md', 'b.txt', 'src/out/z.md', 'src/w.md'], 'out matches only the top folder, **/node_modules any depth');
  assert.deepEqual(paths({ exclude: ['**/out', '*.{txt,rst}'] }), ['a.md', 'node_modules/m/x.md', 'src/w.md']);
  assert.throws(
    () => listCorpus([dir], { include: ['*.tex'], exclude: ['**/node_modules'], names: { include: 'latentLens.corpus.include', exclude: 'latentLens.corpus.exclude or files.exclude' } }),
    userError(/has no files to train on \(after \.gitignore, latentLens\.corpus\.include \*\.tex, latentLens\.corpus\.exclude or files\.exclude \*\*\/node_modules\)/, 'E_EMPTY'),
  );
});

test('files, folders and globs together: paths relative to their common parent, each file once', () => {
  const dir = tree(path.join(root, 'mixed'), { 'one/a.md': 'a', 'one/b.txt': 'b', 'two/c.md': 'c', 'two/deep/d.md': 'd' });
  const c = listCorpus([path.join(dir, 'one/a.md'), path.join(dir, 'one'), `${dir}/two/**/*.md`]);
  assert.equal(c.root, dir);
  assert.deepEqual(c.files.map((f) => f.path), ['one/a.md', 'one/b.txt', 'two/c.md', 'two/deep/d.md']);
  assert.equal(c.files[0].abs, path.join(dir, 'one/a.md'));
});

test('bad input: an empty folder, a folder left empty by the excludes, a glob matching nothing, a path that names nothing', () => {
  const empty = path.join(root, 'empty');
  fs.mkdirSync(empty);
  assert.throws(() => listCorpus([empty]), userError(/the folder .*empty has no files to train on \(after \.gitignore\)/, 'E_EMPTY'));
  const only = tree(path.join(root, 'only-md'), { 'a.md': 'a' });
  assert.throws(() => listCorpus([only], { exclude: ['*.md'] }), userError(/has no files to train on \(after \.gitignore, --exclude \*\.md\)/, 'E_EMPTY'));
  assert.throws(() => listCorpus([`${only}/**/*.rst`]), userError(/the glob .*\*\*\/\*\.rst matches no file .*quote it/, 'E_INPUT'));
  assert.throws(() => listCorpus([path.join(root, 'nope', '*.md')]), userError(/matches no file: its folder .*nope does not exist/, 'E_INPUT'));
  assert.throws(() => listCorpus([path.join(root, 'missing.md')]), userError(/cannot read .*missing\.md: there is no such file or folder/, 'E_INPUT'));
  assert.throws(() => listCorpus([]), userError(/give at least one input/, 'E_USAGE'));
});

test('scan: binary, oversized and empty files are skipped and listed; the text files get their sha256 and token count', () => {
  const dir = tree(path.join(root, 'scan'), {
    'a.md': 'Budapest is the capital of Hungary.',
    'bin.dat': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2, 3]),
    'big.txt': 'word '.repeat(4000),
    'blank.txt': '  \n\n',
    'bom.md': '\uFEFFA byte-order mark is not text.',
  });
  const c = listCorpus([dir]);
  const s = scanCorpus(c.root, c.files, limits(1000, 10_000));
  assert.deepEqual(s.files.map((f) => f.path), ['a.md', 'bom.md']);
  assert.equal(s.files[1].tokens, countTokens('A byte-order mark is not text.'), 'the byte-order mark is dropped, as VS Code shows the text');
  assert.match(s.files[0].sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(s.skipped.map((k) => [k.path, k.why]), [['big.txt', 'oversized'], ['bin.dat', 'binary'], ['blank.txt', 'empty']]);
  assert.match(s.skipped[0].detail, /^20 KB, over the 10 KB limit \(--max-file-bytes\)$/);
  assert.equal(s.tokens, s.files[0].tokens + s.files[1].tokens);
});

test('bad input: a folder with no text files, and a corpus over the token cap (the message names the setting)', () => {
  const dir = tree(path.join(root, 'no-text'), { 'x.bin': Buffer.from([0, 1, 2, 3]), 'y.txt': '' });
  const c = listCorpus([dir]);
  assert.throws(() => scanCorpus(c.root, c.files, limits()), userError(/no text files to train on in .*no-text: all 2 files listed were skipped \(1 binary, 1 empty\)/, 'E_EMPTY'));
  const many = tree(path.join(root, 'many'), Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`f${i}.md`, 'The Danube flows through Budapest. '.repeat(20)])));
  const m = listCorpus([many]);
  assert.throws(
    () => scanCorpus(m.root, m.files, { ...limits(300), maxTokens: { value: 300, setting: 'latentLens.corpus.maxTokens' } }),
    userError(/has more than 300 GPT-2 tokens \(\d+ in its first 3 of 5 files\), the limit set by latentLens\.corpus\.maxTokens\..*raise latentLens\.corpus\.maxTokens/, 'E_TOO_MANY_TOKENS'),
  );
});
