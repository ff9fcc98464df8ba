import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readReport } from '../../../src/core/analysis/reportFile';
import { writeRunAnalysis } from '../../../src/core/analysis/runAnalysis';
import { readRun } from '../../../src/core/run/runDir';
import { UserError } from '../../../src/core/errors';
import { encodeSafetensors } from '../../../src/core/safetensors';
import { RUN_FILES } from '../../../src/core/run/runDir';
import { FIXTURE, writeFixtureRun } from './runFixture';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'run-analysis-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

function runDir(name: string): string {
  const dir = path.join(root, name);
  writeFixtureRun(dir, 4, 200);
  return dir;
}

function rejects(dir: string, file: string, pattern: RegExp) {
  assert.throws(
    () => writeRunAnalysis(readRun(dir), { permutations: 100 }),
    (e: unknown) => e instanceof UserError && e.message.includes(file) && pattern.test(e.message),
    `expected an error naming ${file}`,
  );
}

test('writeRunAnalysis writes analysis.json and report.html into the run directory', () => {
  const dir = runDir('ok');
  const { report, jsonPath, htmlPath } = writeRunAnalysis(readRun(dir), { permutations: 200 });
  assert.equal(jsonPath, path.join(dir, 'analysis.json'));
  assert.equal(htmlPath, path.join(dir, 'report.html'));
  assert.deepEqual(readReport(jsonPath), JSON.parse(JSON.stringify(report)));
  assert.match(fs.readFileSync(htmlPath, 'utf8'), /^<!DOCTYPE html>/);
  assert.equal(report.run.source, 'synthetic.txt');
  assert.equal(report.run.model, 'synthetic codes');
  assert.equal(report.run.k, FIXTURE.k);
  assert.equal(report.conceptList[0].latent, FIXTURE.concept);
});

test('a run directory missing a file: a clear error naming the file', () => {
  for (const file of [RUN_FILES.tokens, RUN_FILES.latents, RUN_FILES.cfg, RUN_FILES.metrics]) {
    const dir = runDir(`missing-${file}`);
    fs.rmSync(path.join(dir, file));
    rejects(dir, file, /is missing/);
  }
  assert.throws(() => writeRunAnalysis(readRun(path.join(root, 'nowhere'))), (e: unknown) => e instanceof UserError && /nowhere does not exist/.test(e.message));
});

test('mismatched shapes: latents.safetensors for another token count, or latent ids beyond cfg.json', () => {
  const dir = runDir('shapes');
  const write = (rowPtr: number[], index: number[], value: number[]) =>
    fs.writeFileSync(
      path.join(dir, RUN_FILES.latents),
      encodeSafetensors({
        row_ptr: { dtype: 'I32', shape: [rowPtr.length], data: Int32Array.from(rowPtr) },
        index: { dtype: 'I32', shape: [index.length], data: Int32Array.from(index) },
        value: { dtype: 'F32', shape: [value.length], data: Float32Array.from(value) },
      }),
    );
  write([0, 1, 2], [0, 1], [1, 1]);
  rejects(dir, RUN_FILES.latents, /row_ptr of shape \[3\]/);
  const T = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.tokens), 'utf8')).tokens.length;
  write([0, ...Array.from({ length: T }, () => 1)], [FIXTURE.latents + 5], [1]);
  rejects(dir, RUN_FILES.latents, /latent index 69/);
});

test('a run from an older run format: the error names the file', () => {
  const dir = runDir('old');
  const cfgFile = path.join(dir, RUN_FILES.cfg);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), version: 0 }));
  rejects(dir, RUN_FILES.cfg, /format version 0/);
});
