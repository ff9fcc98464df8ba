import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReport } from '../../src/core/analysis/reportFile';
import { RUN_FILES } from '../../src/core/run/runDir';
import { FIXTURE, writeFixtureRun } from '../core/analysis/runFixture';
import { runCli, tempRoot } from '../fixtures/cli';

const root = tempRoot('cli-analyze-');
const run = path.join(root, 'run');
writeFixtureRun(run, 7, 300);

const cli = (...args: string[]) => runCli('analyze', ...args);

test('analyze RUNDIR prints both lists and writes analysis.json and report.html into it', () => {
  const r = cli(run, '--top', '3', '--permutations', '1000');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /concept "geography" \(lexicon gazetteer\): \d+ concept tokens/);
  assert.match(r.out, /Top concept-selective latents/);
  assert.match(r.out, /#\s+latent\s+score\s+diff\s+p\s+q\s+support\s+effect\s+punct\s+stopw\s+proxy\s+top tokens/);
  assert.match(r.out, new RegExp(`^\\s+1\\s+${FIXTURE.concept}\\s+\\d+\\.\\d{3}\\s+\\d+\\.\\d{3}\\s+\\S+\\s+\\S+\\s+\\d+\\s`, 'm'), 'the planted concept latent first');
  assert.match(r.out, /test: mean activation on concept − other tokens \(diff\), one-sided; concept labels permuted in \d+ blocks of \d+ consecutive tokens/);
  assert.match(r.out, /\nNot significant \(other latents firing on concept tokens/);
  assert.match(r.out, /Top punctuation-firing latents/);
  assert.match(r.out, new RegExp(`^\\s+1\\s+${FIXTURE.punct}\\s`, 'm'), 'the planted punctuation latent first');
  assert.match(r.out, /" Hungary"|" Austria"|" Transylvania"|" Styria"|" Bohemia"|" Moravia"|" Slovakia"|" Romania"|" Italy"|" Greece"/, 'a token excerpt');
  assert.match(r.out, new RegExp(`wrote ${path.join(run, 'analysis.json').replace(/[.\\/]/g, '\\$&')}`));
  const report = readReport(path.join(run, 'analysis.json'));
  assert.equal(report.options.top, 3);
  assert.ok(report.conceptList.length >= 1 && report.conceptList.length <= 3);
  assert.equal(report.conceptList[0].latent, FIXTURE.concept);
  assert.equal(report.conceptCandidates.length, 3);
  assert.ok(fs.statSync(path.join(run, 'report.html')).size > 200_000, 'report.html with Chart.js inlined');
});

test('analyze --lexicon course, --concept FILE, and a lexicon matching nothing', () => {
  const strict = cli(run, '--permutations', '200', '--min-support', '5', '--alpha', '0.01');
  assert.equal(strict.code, 0, strict.err);
  assert.match(strict.out, /latents tested \(support ≥ 5\), \d+ significant \(q ≤ 0\.01\)/);
  const course = cli(run, '--lexicon', 'course', '--permutations', '100');
  assert.equal(course.code, 0, course.err);
  assert.match(course.out, /\(lexicon course\)/);
  const rivers = path.join(root, 'rivers.txt');
  fs.writeFileSync(rivers, 'Danube\nTisza\n');
  const r = cli(run, '--concept', rivers, '--permutations', '100');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /concept "rivers" \(lexicon rivers\): 0 concept tokens/);
  assert.match(r.out, /warning: No token of this document matches the lexicon "rivers"/);
  assert.match(r.out, /\(none: no latent passes q ≤ 0\.05 with support ≥ 2\)/);
});

test('analyze: bad input fails with exit code 2 and a message naming the problem', () => {
  const missing = cli(path.join(root, 'nope'));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^latent-lens: run directory .*nope does not exist/);
  const broken = path.join(root, 'broken');
  writeFixtureRun(broken, 8, 100);
  fs.rmSync(path.join(broken, RUN_FILES.tokens));
  const r = cli(broken);
  assert.equal(r.code, 2);
  assert.match(r.err, /tokens\.json is missing/);
  const many = cli(run, '--permutations', 'many');
  assert.equal(many.code, 2);
  assert.match(many.err, /--permutations must be a number/);
  assert.match(cli(run, '--lexicon', 'nowhere.txt').err, /cannot read the lexicon file nowhere\.txt/);
  const support = cli(run, '--min-support', '0');
  assert.equal(support.code, 2);
  assert.match(support.err, /analysis option minSupport must be an integer from 1/);
  assert.match(cli().err, /give exactly one RUNDIR/);
});

test('analyze computes causal evidence when it can, says why not when it cannot, and --no-evidence skips it', () => {
  const r = cli(run, '--permutations', '200');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /No causal evidence: run .* does not record which model directory made it/, 'the fixture run names no model');
  const report = readReport(path.join(run, 'analysis.json'));
  assert.ok(report.evidence && 'unavailable' in report.evidence);
  assert.ok(report.messages.some((m) => m.code === 'no-evidence' && m.level === 'warning'));
  const skipped = cli(run, '--permutations', '200', '--no-evidence');
  assert.equal(skipped.code, 0, skipped.err);
  assert.doesNotMatch(skipped.out, /causal evidence/i);
  assert.equal(readReport(path.join(run, 'analysis.json')).evidence, undefined);
});
