/**
 * The extension's settings (`latentLens.*`): one table that drives validation here and must agree with
 * package.json's contributes.configuration (a test checks keys, types, defaults, enums and minimums).
 * Free of `vscode`: the caller passes a getter (the workspace configuration's `get`).
 */
import { hookKindOf } from '../../core/hooks';

export type SettingSpec =
  | { kind: 'enum'; values: readonly string[]; default: string }
  | { kind: 'integer'; min: number; max?: number; default: number | null }
  | { kind: 'number'; min: number; max?: number; exclusiveMin?: boolean; default: number | null }
  | { kind: 'string'; check?: (s: string) => string | undefined; default: string }
  | { kind: 'boolean'; default: boolean };

const LATENTS = /^(\d+|\d+(\.\d+)?x)$/i;
const K = /^(\d+|\d*\.\d+|\d+\/\d+)$/;

/** Every setting, by key under `latentLens.`; `default: null` means "the preset's value". */
export const SETTINGS = {
  preset: { kind: 'enum', values: ['seed', 'course'], default: 'seed' },
  layer: { kind: 'integer', min: 0, default: null },
  hook: {
    kind: 'string',
    default: '',
    check: (s) => (s === '' || hookKindOf(s) ? undefined : 'is not a hook name such as hook_mlp_out, mlp.hook_pre or blocks.6.hook_mlp_out'),
  },
  latents: { kind: 'string', default: '', check: (s) => (s === '' || LATENTS.test(s) ? undefined : 'is neither a count (6144) nor a multiple of d_in (8x)') },
  k: { kind: 'string', default: '', check: (s) => (s === '' || K.test(s) ? undefined : 'is neither a count (384) nor a fraction of d_in (0.5 or 1/3)') },
  epochs: { kind: 'integer', min: 1, max: 100000, default: null },
  lr: { kind: 'number', min: 0, exclusiveMin: true, max: 1, default: null },
  seed: { kind: 'integer', min: 0, max: 4294967295, default: null },
  engine: { kind: 'enum', values: ['auto', 'ort', 'tfjs'], default: 'auto' },
  'model.source': { kind: 'enum', values: ['download', 'localDirectory'], default: 'download' },
  'model.directory': { kind: 'string', default: '' },
  /** The SAE "Apply an SAE to this file" offers first (latent-lens apply's --sae); '' offers none. */
  'sae.default': { kind: 'string', default: '' },
  'concept.lexicon': { kind: 'enum', values: ['gazetteer', 'course', 'file'], default: 'gazetteer' },
  'concept.lexiconFile': { kind: 'string', default: '' },
  'analysis.punctuationShareThreshold': { kind: 'number', min: 0, max: 1, default: 0.5 },
  'analysis.proxyThreshold': { kind: 'number', min: 0, max: 1, default: 0.3 },
  'labels.enabled': { kind: 'boolean', default: false },
  'labels.threshold': { kind: 'number', min: 0, max: 1, default: 0.8 },
  maxTokens: { kind: 'integer', min: 2, max: 1000000, default: 4096 },
  'worker.idleTimeoutSeconds': { kind: 'integer', min: 0, max: 86400, default: 300 },
  threads: { kind: 'integer', min: 0, max: 256, default: 0 },
  'tints.excludeAlwaysOn': { kind: 'boolean', default: true },
  /** "Train SAE on a folder…": a glob of the files to keep ('' every file), one of files and folders to drop besides files.exclude and .gitignore. */
  'corpus.include': { kind: 'string', default: '' },
  'corpus.exclude': { kind: 'string', default: '' },
  'corpus.maxTokens': { kind: 'integer', min: 2, max: 1000000, default: 200000 },
  'corpus.maxFileBytes': { kind: 'integer', min: 2, max: 1073741824, default: 1048576 },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
export const SECTION = 'latentLens';

/** Settings that name files in the workspace: ignored in an untrusted workspace (package.json restrictedConfigurations). */
export const RESTRICTED_SETTINGS: SettingKey[] = ['model.directory', 'concept.lexiconFile', 'sae.default'];

type ValueOf<S> = S extends { kind: 'enum'; values: readonly (infer V)[] }
  ? V
  : S extends { kind: 'integer' | 'number'; default: infer D }
    ? number | (D extends null ? null : never)
    : S extends { kind: 'string' }
      ? string
      : boolean;

export type Settings = { [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

export interface ReadSettings {
  settings: Settings;
  /** One message per invalid value, naming the setting and saying that its default is used. */
  problems: string[];
}

function problemOf(spec: SettingSpec, v: unknown): string | undefined {
  switch (spec.kind) {
    case 'enum':
      return typeof v === 'string' && spec.values.includes(v) ? undefined : `must be one of ${spec.values.map((x) => `"${x}"`).join(', ')}`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : 'must be true or false';
    case 'string':
      return typeof v !== 'string' ? 'must be a string' : spec.check?.(v.trim());
    case 'integer':
    case 'number': {
      if (v === null && spec.default === null) return undefined;
      const range = `${spec.kind === 'integer' ? 'an integer' : 'a number'} ${spec.kind === 'number' && spec.exclusiveMin ? '>' : '≥'} ${spec.min}${spec.max === undefined ? '' : ` and ≤ ${spec.max}`}`;
      if (typeof v !== 'number' || !Number.isFinite(v) || (spec.kind === 'integer' && !Number.isInteger(v))) return `must be ${range}`;
      const low = spec.kind === 'number' && spec.exclusiveMin ? v <= spec.min : v < spec.min;
      return low || (spec.max !== undefined && v > spec.max) ? `must be ${range}` : undefined;
    }
  }
}

function describeDefault(spec: SettingSpec): string {
  return spec.default === null ? "the preset's value" : spec.default === '' ? 'the default (empty)' : `the default ${JSON.stringify(spec.default)}`;
}

/**
 * Reads and validates every setting through `get(key)` (undefined = not set). An invalid value is
 * replaced by its default and reported in `problems`.
 */
export function readSettings(get: (key: SettingKey) => unknown): ReadSettings {
  const settings: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, SettingSpec][]) {
    const raw = get(key);
    if (raw === undefined) {
      settings[key] = spec.default;
      continue;
    }
    const problem = problemOf(spec, raw);
    if (problem) {
      problems.push(`Setting ${SECTION}.${key} is ${JSON.stringify(raw)}, but it ${problem}; using ${describeDefault(spec)}. Fix it in Settings.`);
      settings[key] = spec.default;
    } else {
      settings[key] = typeof raw === 'string' ? raw.trim() : raw;
    }
  }
  return { settings: settings as Settings, problems };
}

/** What Restricted Mode turns off, given the restricted settings the workspace sets; undefined when none. */
export function restrictedNoticeText(ignored: SettingKey[]): string | undefined {
  if (ignored.length === 0) return undefined;
  return `Restricted Mode: Latent Lens ignores this workspace's ${ignored.map((k) => `${SECTION}.${k}`).join(' and ')} (files the workspace names are not read until you trust it) and uses your user settings instead. Training, decorations, hovers and the latent browser work as usual.`;
}
