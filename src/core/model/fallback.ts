import * as fs from 'node:fs';
import * as path from 'node:path';
import { isUserError } from '../errors';
import { cacheRoot, resolveModel, type ResolveOptions } from './download';
import { makeTestModel } from './testModel';

/** GPT-2 Small's shapes, used for the stand-in model when the real weights cannot be had. */
export const GPT2_SMALL_SHAPE = { layers: 12, dModel: 768, heads: 12, positions: 1024 };

export interface ResolvedModel {
  dir: string;
  /** Set when the real model could not be downloaded and a random-weight stand-in is used: say it. */
  fallback?: string;
}

export interface StandInOptions {
  cacheDir?: string;
  shape?: typeof GPT2_SMALL_SHAPE;
}

/**
 * The random-weights stand-in: a generated model with GPT-2 Small's shapes (or `shape`) and RANDOM
 * weights, made once (atomically) under `<cache root>/models/random-gpt2-l<layers>-d<dModel>-seed0`.
 * `made` is true when this call generated it (about half a gigabyte of weights).
 */
export function randomStandIn(o: StandInOptions = {}): { dir: string; made: boolean } {
  const shape = o.shape ?? GPT2_SMALL_SHAPE;
  const dir = path.join(cacheRoot(o.cacheDir), 'models', `random-gpt2-l${shape.layers}-d${shape.dModel}-seed0`);
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) return { dir, made: false };
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  makeTestModel({ out: tmp, ...shape, seed: 0 });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return { dir, made: true };
}

/** The spec names the default model (GPT-2 Small), the only one that may fall back to the stand-in. */
export function isDefaultModel(spec: string | undefined): boolean {
  return spec === undefined || spec === 'gpt2' || spec === 'openai-community/gpt2';
}

/**
 * Resolves `spec` like resolveModel; when the hub cannot be reached (E_OFFLINE) and the user asked for
 * the default model, falls back to the random-weights stand-in (randomStandIn). The notice explains
 * why and what to do. A model the user named explicitly never falls back: its error is theirs to see.
 */
export async function resolveModelOrRandom(spec: string | undefined, opts: ResolveOptions & StandInOptions = {}): Promise<ResolvedModel> {
  try {
    return { dir: await resolveModel(spec, opts) };
  } catch (e) {
    if (!isDefaultModel(spec) || !isUserError(e) || e.code !== 'E_OFFLINE') throw e;
    const { dir } = randomStandIn(opts);
    const first = e.message.split('\n')[0].replace(/[.\s]+$/, '');
    return {
      dir,
      fallback:
        `GPT-2 Small could not be downloaded (${first}). Using a generated stand-in with GPT-2 Small's shapes and RANDOM WEIGHTS ` +
        `(${dir}): every number below describes random weights, not GPT-2. Place config.json and model.safetensors of openai-community/gpt2 ` +
        `in ${path.join(cacheRoot(opts.cacheDir), 'models', 'openai-community--gpt2')} or pass --model DIR for real results.`,
    };
  }
}
