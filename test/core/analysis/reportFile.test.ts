import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeCodes } from '../../../src/core/analysis/analyze';
import { readReport, writeReport } from '../../../src/core/analysis/reportFile';
import { ANALYSIS_VERSION } from '../../../src/core/analysis/types';
import { UserError } from '../../../src/core/errors';
import { FIXTURE, fixtureParts } from './runFixture';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'report-file-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));
const parts = fixtureParts(2, 150);
const report = analyzeCodes({ tokens: parts.tokens.tokens, codes: parts.codes, nLatents: FIXTURE.latents }, { permutations: 200 });

function rejects(file: string, pattern: RegExp) {
  assert.throws(() => readReport(file), (e: unknown) => e instanceof UserError && pattern.test(e.message) && e.message.includes(file), `expected ${pattern}`);
}

test('writeReport → readReport round trip, no temp file left', () => {
  const file = path.join(root, 'analysis.json');
  writeReport(file, report);
  assert.deepEqual(readReport(file), JSON.parse(JSON.stringify(report)));
  assert.deepEqual(fs.readdirSync(root), ['analysis.json']);
});

test('an older report version: a clear error naming the file and saying to analyse again', () => {
  const file = path.join(root, 'old.json');
  fs.writeFileSync(file, JSON.stringify({ ...report, version: ANALYSIS_VERSION - 1 }));
  rejects(file, new RegExp(`has report version ${ANALYSIS_VERSION - 1}, older than the version ${ANALYSIS_VERSION} this Latent Lens reads; run \`latent-lens analyze RUNDIR\` again`));
  const unversioned = path.join(root, 'unversioned.json');
  fs.writeFileSync(unversioned, JSON.stringify({ summary: {} }));
  rejects(unversioned, /has report version null, older than/);
});

test('a newer report version says to update Latent Lens', () => {
  const file = path.join(root, 'new.json');
  fs.writeFileSync(file, JSON.stringify({ ...report, version: ANALYSIS_VERSION + 1 }));
  rejects(file, new RegExp(`newer than the version ${ANALYSIS_VERSION} this Latent Lens reads; update Latent Lens`));
});

test('missing, malformed or incomplete reports name the file', () => {
  rejects(path.join(root, 'absent.json'), /cannot read .*absent\.json: ENOENT/);
  const bad = path.join(root, 'bad.json');
  fs.writeFileSync(bad, '{"version": 1,');
  rejects(bad, /is not valid JSON/);
  const list = path.join(root, 'list.json');
  fs.writeFileSync(list, '[1]');
  rejects(list, /is not an analysis report/);
  const partial = path.join(root, 'partial.json');
  const { heatmaps: _drop, ...rest } = report;
  fs.writeFileSync(partial, JSON.stringify(rest));
  rejects(partial, /lacks heatmaps: it is damaged/);
});
