import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSettings, restrictedNoticeText, SECTION, SETTINGS, RESTRICTED_SETTINGS, type SettingKey, type SettingSpec } from '../../../src/editor/settings/schema';

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const props: Record<string, Record<string, unknown>> = manifest.contributes.configuration.properties;

test('defaults when nothing is set, with no problems', () => {
  const { settings, problems } = readSettings(() => undefined);
  assert.deepEqual(problems, []);
  assert.equal(settings.preset, 'seed');
  assert.equal(settings.layer, null);
  assert.equal(settings.maxTokens, 4096);
  assert.equal(settings['labels.enabled'], false);
});

test('valid values pass through (strings trimmed)', () => {
  const values: Partial<Record<SettingKey, unknown>> = { preset: 'course', layer: 3, k: ' 1/3 ', latents: '8x', lr: 0.001, engine: 'tfjs', hook: 'blocks.2.mlp.hook_pre', maxTokens: 2 };
  const { settings, problems } = readSettings((k) => values[k]);
  assert.deepEqual(problems, []);
  assert.equal(settings.preset, 'course');
  assert.equal(settings.layer, 3);
  assert.equal(settings.k, '1/3');
  assert.equal(settings.latents, '8x');
  assert.equal(settings.hook, 'blocks.2.mlp.hook_pre');
});

test('each invalid value falls back to its default with a message naming the setting', () => {
  const bad: [SettingKey, unknown][] = [
    ['preset', 'fast'],
    ['layer', -1],
    ['layer', 1.5],
    ['epochs', 0],
    ['lr', 0],
    ['lr', 'big'],
    ['k', 'lots'],
    ['latents', '-3'],
    ['hook', 'blocks.6.attn'],
    ['engine', 'cuda'],
    ['maxTokens', 1],
    ['analysis.punctuationShareThreshold', 1.5],
    ['labels.enabled', 'yes'],
    ['worker.idleTimeoutSeconds', -5],
    ['threads', Number.NaN],
  ];
  for (const [key, value] of bad) {
    const { settings, problems } = readSettings((k) => (k === key ? value : undefined));
    assert.equal(problems.length, 1, `${key}=${String(value)}`);
    assert.match(problems[0], new RegExp(`latentLens\\.${key.replace('.', '\\.')}\\b`));
    assert.equal(settings[key], SETTINGS[key].default, key);
  }
});

test('null means "the preset\'s value" only where allowed', () => {
  assert.deepEqual(readSettings((k) => (k === 'epochs' ? null : undefined)).problems, []);
  assert.equal(readSettings((k) => (k === 'maxTokens' ? null : undefined)).problems.length, 1);
});

test('package.json contributes every setting with the same type, default, enum and range', () => {
  const keys = Object.keys(SETTINGS).map((k) => `${SECTION}.${k}`);
  assert.deepEqual(Object.keys(props).sort(), keys.sort());
  for (const [key, spec] of Object.entries(SETTINGS) as [string, SettingSpec][]) {
    const p = props[`${SECTION}.${key}`];
    assert.ok(typeof p.description === 'string' && p.description.length > 20, `${key} has a description`);
    assert.deepEqual(p.default, spec.default, `${key} default`);
    const type = Array.isArray(p.type) ? p.type[0] : p.type;
    assert.equal(type, spec.kind === 'enum' ? 'string' : spec.kind, `${key} type`);
    if (spec.kind === 'enum') assert.deepEqual(p.enum, spec.values, `${key} enum`);
    if (spec.kind === 'integer' || spec.kind === 'number') {
      assert.equal(p.maximum, spec.max, `${key} maximum`);
      if (spec.kind === 'number' && spec.exclusiveMin) assert.equal(p.exclusiveMinimum, spec.min, `${key} exclusiveMinimum`);
      else assert.equal(p.minimum, spec.min, `${key} minimum`);
    }
    if (spec.kind === 'string' && spec.check) {
      // The JSON-schema pattern and the runtime check agree on examples.
      const re = new RegExp(p.pattern as string);
      for (const sample of ['', '8x', '384', '0.5', '1/3', 'hook_mlp_out', 'blocks.6.mlp.hook_pre', 'blocks.3.hook_attn_out', 'hook_resid_mid', 'nope', '-1']) {
        assert.equal(re.test(sample), spec.check!(sample) === undefined, `${key} on "${sample}"`);
      }
    }
  }
});

test('restricted settings are declared for untrusted workspaces', () => {
  const cap = manifest.capabilities.untrustedWorkspaces;
  assert.equal(cap.supported, 'limited');
  assert.ok(cap.description.length > 20);
  assert.deepEqual(cap.restrictedConfigurations, RESTRICTED_SETTINGS.map((k) => `${SECTION}.${k}`));
});

test('in Restricted Mode the notice names what is ignored and says the rest works', () => {
  assert.equal(restrictedNoticeText([]), undefined);
  const n = restrictedNoticeText(['model.directory', 'concept.lexiconFile'])!;
  assert.match(n, /latentLens\.model\.directory and latentLens\.concept\.lexiconFile/);
  assert.match(n, /work as usual/);
  assert.ok(RESTRICTED_SETTINGS.includes('sae.default'), 'a workspace-configured SAE folder is ignored in Restricted Mode');
  assert.match(restrictedNoticeText(['sae.default'])!, /ignores this workspace's latentLens\.sae\.default \(files the workspace names are not read/);
});
