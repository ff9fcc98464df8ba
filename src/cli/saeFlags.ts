import { UserError } from '../core/errors';
import { CORPUS_EARLY_STOP, saeConfig, type EarlyStop, type RunScope, type SaeConfig } from '../core/sae/config';
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
  steps: { type: 'string' },
  tokens: { type: 'string' },
  'early-stop': { type: 'string' },
  'early-stop-window': { type: 'string' },
  lr: { type: 'string' },
  l1: { type: 'string' },
  decor: { type: 'string' },
  auxk: { type: 'string' },
  seed: { type: 'string' },
  'batch-tokens': { type: 'string' },
  engine: { type: 'string' },
  threads: { type: 'string' },
} as const;

export const SAE_USAGE =
  '[--model DIR|gpt2] [--preset seed|course] [--layer N] [--hook NAME] [--latents N|8x] [--k N|0.5] [--epochs N | --steps N | --tokens N] [--early-stop X|off] [--early-stop-window N] [--lr X] [--l1 X] [--decor X] [--auxk X] [--seed N] [--batch-tokens 4096] [--engine auto|ort|tfjs] [--threads 2]';

type SaeFlagValues = { [K in keyof typeof SAE_FLAGS]?: string };

/** --early-stop X|off and --early-stop-window N: undefined when neither is given (the scope's default). */
function earlyStop(v: SaeFlagValues): EarlyStop | null | undefined {
  const threshold = v['early-stop'];
  const window = num('early-stop-window', v['early-stop-window']);
  if (threshold === undefined && window === undefined) return undefined;
  if (threshold === 'off') {
    if (window !== undefined) throw new UserError('--early-stop off turns early stopping off; drop --early-stop-window, or give a threshold (e.g. --early-stop 0.001).', 'E_USAGE');
    return null;
  }
  return { threshold: num('early-stop', threshold) ?? CORPUS_EARLY_STOP.threshold, window: window ?? CORPUS_EARLY_STOP.window };
}

/**
 * Validates the SAE flags (before any work): the SaeConfig they make for a run of `scope` (a corpus
 * gets corpusDefaults under the flags), and where it trains.
 */
export function saeRunFlags(v: SaeFlagValues, scope: RunScope = 'document'): { sae: SaeConfig; engine: EngineChoice; threads: number | undefined } {
  const engine = (v.engine ?? 'auto') as EngineChoice;
  if (!ENGINE_CHOICES.includes(engine)) throw new UserError(`--engine must be one of ${ENGINE_CHOICES.join(', ')}, got "${v.engine}".`, 'E_USAGE');
  const sae = saeConfig(
    {
      preset: v.preset,
      layer: num('layer', v.layer),
      hook: v.hook,
      latents: v.latents,
      k: v.k,
      epochs: num('epochs', v.epochs),
      steps: num('steps', v.steps),
      tokens: num('tokens', v.tokens),
      earlyStop: earlyStop(v),
      lr: num('lr', v.lr),
      l1: num('l1', v.l1),
      decor: num('decor', v.decor),
      auxk: num('auxk', v.auxk),
      seed: num('seed', v.seed),
      batchTokens: num('batch-tokens', v['batch-tokens']),
    },
    scope,
  );
  // 0, as in the editor's setting: automatic (EngineOptions.threads; GPT-2's sessions: onnxruntime's choice).
  const threads = num('threads', v.threads) ?? 2;
  return { sae, engine, threads: threads === 0 ? undefined : threads };
}
