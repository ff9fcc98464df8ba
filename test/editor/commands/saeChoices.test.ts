import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appliedCfg } from '../../../src/core/run/runCfg';
import { RELEASES } from '../../../src/core/sae/releases';
import { releaseChoices, saeChoices } from '../../../src/editor/commands/saeChoices';
import { randomSae } from '../../fixtures/saeModels';

const cfg = appliedCfg(randomSae({ dIn: 8, dSae: 24, activation: 'topk', k: 4, site: { hookName: 'blocks.6.hook_mlp_out' } }), { kind: 'release', release: 'gpt2-small-mlp-out-v5-32k', id: 'blocks.6.hook_mlp_out', repo: 'r', path: 'p' }, { model: { name: 'gpt2', random_weights: false }, nTokens: 9 });

test('the picker offers the default SAE first, then every release, a folder, and the SAE of each earlier run', () => {
  const choices = saeChoices(RELEASES, 'gpt2-small-res-jb/blocks.6.hook_resid_pre', [{ name: 'notes.md', runDir: '/runs/a', cfg }]);
  assert.deepEqual(choices[0].pick, { kind: 'request', request: { spec: 'gpt2-small-res-jb/blocks.6.hook_resid_pre' } });
  assert.match(choices[0].description!, /latentLens\.sae\.default/);
  const releases = choices.filter((c) => c.pick.kind === 'release');
  assert.deepEqual(releases.map((c) => c.label), RELEASES.map((r) => r.release));
  assert.match(releases[0].detail!, /jbloom\/GPT2-Small-SAEs-Reformatted · 13 SAEs · 24576 latents · ~151 MB each/);
  assert.equal(releases[0].group, 'GPT-2 Small SAEs of the field');
  assert.ok(choices.some((c) => c.pick.kind === 'folder'));
  const earlier = choices.at(-1)!;
  assert.deepEqual(earlier.pick, { kind: 'request', request: { spec: '/runs/a' } });
  assert.match(earlier.label, /notes\.md/);
  assert.equal(earlier.description, 'top-k 4 of 24 latents on blocks.6.hook_mlp_out');
  assert.equal(earlier.detail, 'applied: release gpt2-small-mlp-out-v5-32k, SAE blocks.6.hook_mlp_out (r)');
  assert.equal(saeChoices(RELEASES, '', []).filter((c) => c.pick.kind === 'request').length, 0, 'no default, no runs');
});

test("a release's second step lists its SAEs by layer as RELEASE/ID", () => {
  const res = releaseChoices(RELEASES.find((r) => r.release === 'gpt2-small-res-jb')!);
  assert.equal(res.length, 13);
  assert.deepEqual(res[6], { label: 'layer 6', description: 'blocks.6.hook_resid_pre', request: { spec: 'gpt2-small-res-jb/blocks.6.hook_resid_pre' } });
  assert.equal(res[12].description, 'blocks.11.hook_resid_post');
});
