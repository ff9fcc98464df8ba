/**
 * How long training runs (SaeConfig's epochs, steps, tokens, earlyStop), exactly:
 * - a step is one Adam update on one minibatch; an epoch is one pass over every token, in the
 *   epoch's minibatches (train.ts planBatches);
 * - before each step, training ends when `steps` steps have run or `tokens` tokens have been trained
 *   on (so the last step may take the count past `tokens` by less than one minibatch); the epoch it
 *   ends in is partial, and its metrics cover the tokens it trained on;
 * - after each epoch, training ends when `epochs` epochs have run, when a budget is spent, or, with
 *   earlyStop {threshold, window}, after epoch e > window when FVE_e − FVE_{e−window} < threshold
 *   (FVE gained less than `threshold` over the last `window` epochs; a partial epoch is never compared).
 */
import type { EpochMetrics } from '../run/format';
import type { SaeConfig } from './config';

export type ScheduleFields = Pick<SaeConfig, 'epochs' | 'steps' | 'tokens' | 'earlyStop'>;

/** Why training ended. */
export type StopReason = 'epochs' | 'steps' | 'tokens' | 'early-stop';

/** What a run did, in metrics.json. */
export interface ScheduleDone {
  /** Epochs run, the last one counted even when partial. */
  epochs: number;
  steps: number;
  /** Tokens trained on: Σ of the minibatch sizes of every step. */
  tokens: number;
  stopped: StopReason;
  /** The stop in words, e.g. "early stopping: FVE gained 0.0004 (0.8123 → 0.8127) over the last 5 epochs, less than 0.001". */
  why: string;
}

const count = (n: number) => n.toLocaleString('en-US');

/** The most epochs the schedule allows a run of T tokens in `stepsPerEpoch` minibatches (for progress bars and ETAs). */
export function maxEpochs(s: ScheduleFields, T: number, stepsPerEpoch: number): number {
  const limits = [s.epochs ?? Infinity, s.steps === null ? Infinity : Math.ceil(s.steps / stepsPerEpoch), s.tokens === null ? Infinity : Math.ceil(s.tokens / T)];
  return Math.min(...limits);
}

/** Checked before each step: the budget that is spent, if one is. */
export function budgetSpent(s: ScheduleFields, steps: number, tokens: number): 'steps' | 'tokens' | undefined {
  if (s.steps !== null && steps >= s.steps) return 'steps';
  if (s.tokens !== null && tokens >= s.tokens) return 'tokens';
  return undefined;
}

/** Checked after each epoch (curve holds every epoch so far, the last one just finished): why to stop, if at all. */
export function stopAfterEpoch(s: ScheduleFields, curve: readonly EpochMetrics[], steps: number, tokens: number): { stopped: StopReason; why: string } | undefined {
  const e = curve.length;
  const spent = budgetSpent(s, steps, tokens);
  if (spent === 'steps') return { stopped: 'steps', why: `the step budget of ${count(s.steps!)} steps` };
  if (spent === 'tokens') return { stopped: 'tokens', why: `the token budget of ${count(s.tokens!)} tokens (${count(tokens)} trained: whole minibatches)` };
  if (s.epochs !== null && e >= s.epochs) return { stopped: 'epochs', why: `the epoch limit of ${s.epochs} epochs` };
  const es = s.earlyStop;
  if (es && e > es.window) {
    const [before, now] = [curve[e - 1 - es.window].fve, curve[e - 1].fve];
    const gain = now - before;
    if (gain < es.threshold) {
      return { stopped: 'early-stop', why: `early stopping: FVE gained ${gain.toFixed(4)} (${before.toFixed(4)} → ${now.toFixed(4)}) over the last ${es.window} epochs, less than ${es.threshold}` };
    }
  }
  return undefined;
}

/** The schedule in words, for summaries: "at most 100 epochs or 4,000,000 tokens, early stopping (FVE gain < 0.001 over 5 epochs)". */
export function scheduleText(s: ScheduleFields): string {
  const limits = [s.epochs !== null && `${s.epochs} epochs`, s.steps !== null && `${count(s.steps)} steps`, s.tokens !== null && `${count(s.tokens)} tokens`].filter(Boolean);
  const exact = limits.length === 1 && !s.earlyStop && s.tokens === null;
  const length = exact ? `exactly ${limits[0]}` : limits.length === 1 && !s.earlyStop ? `${limits[0]} (whole minibatches)` : `at most ${limits.join(' or ')}`;
  return s.earlyStop ? `${length}, early stopping (FVE gain < ${s.earlyStop.threshold} over ${s.earlyStop.window} epochs)` : length;
}
