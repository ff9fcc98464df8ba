import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../src/core/errors';
import { PRESETS } from '../../../src/core/sae/config';
import type { FailureCode } from '../../../src/editor/worker/client';
import { adviceFor } from '../../../src/editor/errors/advice';
import { defaultSaeSpec, jobSettings } from '../../../src/editor/settings/jobSettings';
import { readSettings, type SettingKey } from '../../../src/editor/settings/schema';

const settingsWith = (values: Partial<Record<SettingKey, unknown>>) => readSettings((k) => values[k]).settings;

test('defaults: preset values, downloaded model, gazetteer, engine threads', () => {
  const j = jobSettings(settingsWith({}), '/ws');
  assert.deepEqual(j.sae, PRESETS.seed);
  assert.equal(j.modelDir, undefined);
  assert.deepEqual(j.analysis.lexicon, { kind: 'gazetteer' });
  assert.equal(j.threads, undefined);
  assert.equal(j.maxTokens, 4096);
});

test('overrides and paths (relative to the workspace folder, ~ to home)', () => {
  const j = jobSettings(
    settingsWith({ layer: 1, k: '8', latents: '128', epochs: 3, 'model.source': 'localDirectory', 'model.directory': 'models/tiny', 'concept.lexicon': 'file', 'concept.lexiconFile': '~/words.txt', threads: 2 }),
    '/ws',
  );
  assert.deepEqual(j.sae, { ...PRESETS.seed, layer: 1, latents: '128', k: '8', epochs: 3 });
  assert.equal(j.modelDir, path.resolve('/ws', 'models/tiny'));
  assert.deepEqual(j.analysis.lexicon, { kind: 'file', path: path.join(os.homedir(), 'words.txt') });
  assert.equal(j.threads, 2);
});

test('a local model source without a directory, or a file lexicon without a file, names both settings', () => {
  assert.throws(
    () => jobSettings(settingsWith({ 'model.source': 'localDirectory' }), undefined),
    (e) => e instanceof UserError && /latentLens\.model\.source.*latentLens\.model\.directory is empty/.test(e.message),
  );
  assert.throws(
    () => jobSettings(settingsWith({ 'concept.lexicon': 'file' }), undefined),
    (e) => e instanceof UserError && /latentLens\.concept\.lexiconFile is empty/.test(e.message),
  );
});

test('errors about the model or the token cap point at their settings', () => {
  assert.equal(adviceFor('E_OFFLINE')?.settings, 'latentLens.model');
  assert.match(adviceFor('E_OFFLINE')?.hint ?? '', /latentLens\.model\.directory/);
  assert.equal(adviceFor('E_TOO_MANY_TOKENS')?.settings, 'latentLens.maxTokens');
  assert.equal(adviceFor('E_SOMETHING_ELSE' as FailureCode), undefined, 'a code from a newer worker gets no advice, not an error');
});

test('latentLens.sae.default: a release or hf: spec as it is, a folder resolved like the other paths', () => {
  const spec = (v: string) => defaultSaeSpec(settingsWith({ 'sae.default': v }), '/ws');
  assert.equal(spec(''), '');
  assert.equal(spec('gpt2-small-res-jb/blocks.6.hook_resid_pre'), 'gpt2-small-res-jb/blocks.6.hook_resid_pre');
  assert.equal(spec('hf:someone/saes/h.6.mlp'), 'hf:someone/saes/h.6.mlp');
  assert.equal(spec('saes/mine'), path.resolve('/ws', 'saes/mine'));
  assert.equal(spec('~/saes/mine'), path.join(os.homedir(), 'saes/mine'));
  assert.equal(adviceFor('E_SAE')?.settings, 'latentLens.sae');
});
