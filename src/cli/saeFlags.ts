import { UserError } from '../core/errors';
import { saeConfig, type SaeConfig } from '../core/sae/config';
import { ENGINE_CHOICES, type EngineChoice } from '../core/sae/train';
import { num } from './args';

/** The flags of one SAE run, shared by `train` and `stability`. */
export const SAE_FLAGS = {
  model: { type: 'string' },
  preset: { type: 'string' },
  layer: { type: 'string' },
  hook: { type: 'string' },
  latents: { type: 'string' },
  k: { type: 'string' },
  epochs: { type: 'string' },
  lr: { type: 'string' },
  l1: { type: 'string' },
  decor: { type: 'string' },
  seed: { type: 'string' },
  'batch-tokens': { type: 'string' },
  engine: { type: 'string' },
  threads: { type: 'string' },
} as const;

export const SAE_USAGE =
  '[--model DIR|gpt2] [--preset seed|course] [--layer N] [--hook NAME] [--latents N|8x] [--k N|0.5] [--epochs N] [--lr X] [--l1 X] [--decor X] [--seed N] [--batch-tokens 4096] [--engine auto|ort|tfjs] [--threads 2]';

type SaeFlagValues = { [K in keyof typeof SAE_FLAGS]?: string };

/** Validates the SAE flags (before any work): the SaeConfig they make, and where it trains. */
export function saeRunFlags(v: SaeFlagValues): { sae: SaeConfig; engine: EngineChoice; threads: number | undefined } {
  const engine = (v.engine ?? 'auto') as EngineChoice;
  if (!ENGINE_CHOICES.includes(engine)) throw new UserError(`--engine must be one of ${ENGINE_CHOICES.join(', ')}, got "${v.engine}".`, 'E_USAGE');
  const sae = saeConfig({
    preset: v.preset,
    layer: num('layer', v.layer),
    hook: v.hook,
    latents: v.latents,
    k: v.k,
    epochs: num('epochs', v.epochs),
    lr: num('lr', v.lr),
    l1: num('l1', v.l1),
    decor: num('decor', v.decor),
    seed: num('seed', v.seed),
    batchTokens: num('batch-tokens', v['batch-tokens']),
  });
  // 0, as in the editor's setting: onnxruntime's choice (one per physical core).
  const threads = num('threads', v.threads) ?? 2;
  return { sae, engine, threads: threads === 0 ? undefined : threads };
}
