/** Settings → what a run needs (JobSettings); cross-setting problems are UserErrors naming the settings. */
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../core/errors';
import { saeConfig, type RunScope } from '../../core/sae/config';
import { findRelease } from '../../core/sae/releases';
import type { AnalysisSettings, JobSettings, LexiconChoice } from '../../shared/protocol';
import type { Settings } from './schema';

/** A path from a setting: `~` is the home directory, a relative path is relative to the workspace folder. */
function settingPath(p: string, base: string | undefined): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(base ?? os.homedir(), p);
}

export function lexiconChoice(s: Settings, base: string | undefined): LexiconChoice {
  const kind = s['concept.lexicon'];
  if (kind !== 'file') return { kind };
  if (s['concept.lexiconFile'] === '') {
    throw new UserError(
      'latentLens.concept.lexicon is "file" but latentLens.concept.lexiconFile is empty. Set it to a word list (one word or phrase per line), or choose the "gazetteer" or "course" lexicon.',
      'E_LEXICON',
    );
  }
  return { kind, path: settingPath(s['concept.lexiconFile'], base) };
}

export function analysisSettings(s: Settings, base: string | undefined): AnalysisSettings {
  return { lexicon: lexiconChoice(s, base), punctuationShare: s['analysis.punctuationShareThreshold'], proxyShare: s['analysis.proxyThreshold'] };
}

/**
 * latentLens.sae.default as `--sae` takes it: a release ("gpt2-small-res-jb/…") or hf: spec as it
 * is, a folder resolved like the other paths in settings; '' when unset.
 */
export function defaultSaeSpec(s: Settings, base: string | undefined): string {
  const spec = s['sae.default'];
  if (spec === '' || spec.startsWith('hf:') || findRelease(spec.split('/')[0])) return spec;
  return settingPath(spec, base);
}

/** `base`: the workspace folder that relative paths in settings are resolved against; `scope`: a corpus gets the corpus defaults under the settings (sae/config.ts corpusDefaults). */
export function jobSettings(s: Settings, base: string | undefined, scope: RunScope = 'document'): JobSettings {
  let modelDir: string | undefined;
  if (s['model.source'] === 'localDirectory') {
    if (s['model.directory'] === '') {
      throw new UserError(
        'latentLens.model.source is "localDirectory" but latentLens.model.directory is empty. Set it to a directory holding config.json and model.safetensors of a GPT-2 model, or set latentLens.model.source to "download".',
        'E_MODEL',
      );
    }
    modelDir = settingPath(s['model.directory'], base);
  }
  const orUndefined = <T>(v: T | null | ''): T | undefined => (v === null || v === '' ? undefined : v);
  return {
    sae: saeConfig({
      preset: s.preset,
      layer: orUndefined(s.layer),
      hook: orUndefined(s.hook),
      latents: orUndefined(s.latents),
      k: orUndefined(s.k),
      epochs: orUndefined(s.epochs),
      lr: orUndefined(s.lr),
      seed: orUndefined(s.seed),
    }, scope),
    engine: s.engine,
    modelDir,
    analysis: analysisSettings(s, base),
    maxTokens: s.maxTokens,
    threads: s.threads === 0 ? undefined : s.threads,
  };
}
