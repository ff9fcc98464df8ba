import { RUN_FORMAT_VERSION } from '../../../src/core/run/format';
import { runCfg } from '../../../src/core/run/runCfg';
import { writeRun, type RunParts } from '../../../src/core/run/runDir';
import { saeConfig } from '../../../src/core/sae/config';
import { tiedSae } from '../../../src/core/sae/model';
import { Rng } from '../../../src/core/rng';
import { syntheticCodes, syntheticDoc, type Planted } from './synthetic';

export const FIXTURE = { latents: 64, k: 8, dIn: 8, concept: 5, punct: 9 };

/**
 * The parts of a run directory over a synthetic document (syntheticDoc(seed, words)): codes with a
 * latent planted on concept tokens (5, leaking weakly onto a few others) and one on punctuation (9),
 * a random W and a 3-epoch loss curve.
 */
export function fixtureParts(seed = 1, words = 300): RunParts {
  const doc = syntheticDoc(seed, words);
  const T = doc.tokens.length;
  const rng = new Rng(seed);
  const stray = Uint8Array.from({ length: T }, () => (rng.uniform() < 0.05 ? 1 : 0));
  const planted: Planted[] = [
    { latent: FIXTURE.concept, on: (t) => doc.concept[t] === 1, level: 4 },
    { latent: FIXTURE.concept, on: (t) => !doc.concept[t] && stray[t] === 1, level: 0.5 },
    { latent: FIXTURE.punct, on: (t) => doc.punctuation[t] === 1, level: 3 },
  ];
  const { latents: L, k, dIn } = FIXTURE;
  const sae = tiedSae(rng.fillNormal(new Float32Array(dIn * L), 1), { dIn, nLatents: L, k }, { hookName: 'blocks.1.hook_mlp_out', modelName: 'synthetic codes' });
  const curve = [1, 2, 3].map((epoch) => ({ epoch, loss: 1 / epoch, mse: 0.9 / epoch, l1: 0, decor: 0, fve: 0.3 * epoch, l0: k, dead_fraction: 0, ms: 1 }));
  return {
    cfg: runCfg(saeConfig({ seed, epochs: 3 }), sae, { model: { name: 'synthetic codes', random_weights: false }, engine: 'test', device: 'none', nTokens: T }),
    sae,
    codes: syntheticCodes(T, L, k, planted, seed),
    metrics: {
      version: RUN_FORMAT_VERSION,
      curve,
      final: { loss: 1 / 3, mse: 0.3, l1: 0, decor: 0, fve: 0.9, l0: k, dead_fraction: 0, layer_density: 100 },
      ms_per_epoch: 1, total_ms: 3, engine: 'test', device: 'none', batching: `full batch of ${T} tokens`,
    },
    tokens: { version: RUN_FORMAT_VERSION, source: 'synthetic.txt', offset: 0, tokens: doc.tokens },
  };
}

export function writeFixtureRun(dir: string, seed = 1, words = 300): RunParts {
  const parts = fixtureParts(seed, words);
  writeRun(dir, parts);
  return parts;
}
