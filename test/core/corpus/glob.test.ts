import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatcher, isGlob } from '../../../src/core/corpus/glob';
import { parseGitignore } from '../../../src/core/corpus/gitignore';
import { UserError } from '../../../src/core/errors';

const matches = (pattern: string, paths: string[]) => paths.filter(globMatcher(pattern));

test('glob: * stays within a segment, ** spans segments (none included), ? one character', () => {
  const paths = ['a.md', 'docs/a.md', 'docs/deep/b.md', 'docs/b.txt', 'x/docs/c.md', '.hidden.md'];
  assert.deepEqual(matches('*.md', paths), ['a.md', '.hidden.md']);
  assert.deepEqual(matches('**/*.md', paths), ['a.md', 'docs/a.md', 'docs/deep/b.md', 'x/docs/c.md', '.hidden.md']);
  assert.deepEqual(matches('docs/**', paths), ['docs/a.md', 'docs/deep/b.md', 'docs/b.txt']);
  assert.deepEqual(matches('docs/**/*.md', paths), ['docs/a.md', 'docs/deep/b.md']);
  assert.deepEqual(matches('docs/?.md', paths), ['docs/a.md']);
  assert.deepEqual(matches('./docs/*.txt', paths), ['docs/b.txt']);
});

test('glob: {a,b} alternatives (nested), [classes], escapes', () => {
  const paths = ['a.md', 'a.txt', 'a.rst', 'b1.md', 'b2.md', 'b9.md', '{x}.md', 'n/m.tex'];
  assert.deepEqual(matches('**/*.{md,txt}', paths), ['a.md', 'a.txt', 'b1.md', 'b2.md', 'b9.md', '{x}.md']);
  assert.deepEqual(matches('{a.{md,rst},n/*}', paths), ['a.md', 'a.rst', 'n/m.tex']);
  assert.deepEqual(matches('b[12].md', paths), ['b1.md', 'b2.md']);
  assert.deepEqual(matches('b[!12].md', paths), ['b9.md']);
  assert.deepEqual(matches('\\{x}.md', paths), ['{x}.md']);
  assert.throws(() => globMatcher('*.{md,txt'), (e: unknown) => e instanceof UserError && /has a \{ without its \}/.test(e.message));
  assert.equal(isGlob('docs/*.md'), true);
  assert.equal(isGlob('docs/a.md'), false);
  assert.equal(isGlob('docs/\\*.md'), false);
});

test('.gitignore: names at any depth, anchored paths, directories only, negation, comments, literal braces', () => {
  const rules = parseGitignore('# comment\n\n*.log\n/build\nout/\ndocs/*.tmp\n!keep.log\nnode_modules\n{x}\n  \n');
  const ignored = (rel: string, isDir = false) => {
    let v = false;
    for (const r of rules) if ((!r.dirOnly || isDir) && r.re.test(rel)) v = !r.negate;
    return v;
  };
  assert.equal(ignored('a.log'), true);
  assert.equal(ignored('deep/x/a.log'), true);
  assert.equal(ignored('keep.log'), false, 'a later ! re-includes');
  assert.equal(ignored('build', true), true);
  assert.equal(ignored('src/build', true), false, '/build is anchored to the .gitignore folder');
  assert.equal(ignored('out', true), true);
  assert.equal(ignored('out', false), false, 'out/ matches directories only');
  assert.equal(ignored('docs/a.tmp'), true);
  assert.equal(ignored('x/docs/a.tmp'), false, 'a pattern with a slash is anchored');
  assert.equal(ignored('pkg/node_modules', true), true);
  assert.equal(ignored('{x}'), true, 'braces are literal in .gitignore');
});
