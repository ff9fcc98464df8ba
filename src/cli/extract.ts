import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/errors';
import { extractActivations, type Extraction, type ProviderRequest } from '../core/extract';
import { parseHook, type Hook } from '../core/hooks';
import { resolveModel, type DownloadProgress } from '../core/model/download';
import { checkFinite, loadModel, type Gpt2Model } from '../core/model/load';
import { encodeSafetensors } from '../core/safetensors';
import { tokenize } from '../core/tokenizer';
import { type Command, num, parse, readTextFile } from './args';

const PROVIDERS: ProviderRequest[] = ['auto', 'cpu', 'cuda'];

/** Shortest decimal that reads back as the same float32 (9 significant digits always suffice). */
const f32 = (v: number) => Number(v.toPrecision(9));

interface Written {
  model: Gpt2Model;
  hook: Hook;
  result: Extraction;
}

function toJson({ model, hook, result }: Written): string {
  const acts = result.acts.get(hook.name)!;
  const T = result.tokens.length;
  const rows = Array.from({ length: T }, (_, t) => `[${Array.from(acts.subarray(t * hook.width, (t + 1) * hook.width), f32).join(',')}]`);
  const head = {
    model: model.label,
    model_dir: model.dir,
    layer: hook.layer,
    hook: hook.name,
    provider: result.provider,
    random_weights: model.randomWeights,
    shape: [T, hook.width],
    tokens: result.tokens,
  };
  // One row per line, appended to the head object by hand so a large [T, d] matrix stays readable.
  return `${JSON.stringify(head).slice(0, -1)},"activations":[\n${rows.join(',\n')}\n]}\n`;
}

function toSafetensors({ model, hook, result }: Written): Buffer {
  const T = result.tokens.length;
  return encodeSafetensors(
    {
      activations: { dtype: 'F32', shape: [T, hook.width], data: result.acts.get(hook.name)! },
      token_ids: { dtype: 'I64', shape: [T], data: BigInt64Array.from(result.tokens, (t) => BigInt(t.id)) },
    },
    {
      model: model.label,
      model_dir: model.dir,
      layer: String(hook.layer),
      hook: hook.name,
      provider: result.provider,
      random_weights: String(model.randomWeights),
      tokens: JSON.stringify(result.tokens),
    },
  );
}

/** Prints download progress to stderr every 10% (every 50 MB when the size is unknown). */
function progressPrinter(): (p: DownloadProgress) => void {
  let last = '';
  return ({ file, done, total }) => {
    const line = `downloading ${file}: ${total ? `${10 * Math.floor((10 * done) / total)}%` : `${50 * Math.floor(done / 50e6)} MB`}`;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
  };
}

export const extractCommand: Command = {
  name: 'extract',
  summary: "write one hook's GPT-2 activations for every token of a file (.json or .safetensors)",
  usage:
    'latent-lens extract FILE --out OUT.json|OUT.safetensors [--model DIR|gpt2] [--layer N (default n_layer/2)] [--hook blocks.N.hook_mlp_out] [--threads N] [--provider auto|cpu|cuda]',
  async run(argv) {
    const { values, positionals } = parse(this, argv, {
      model: { type: 'string' },
      layer: { type: 'string' },
      hook: { type: 'string' },
      threads: { type: 'string' },
      provider: { type: 'string' },
      out: { type: 'string' },
    });
    if (positionals.length !== 1) throw new UserError(`give exactly one input FILE (got ${positionals.length}).\nusage: ${this.usage}`, 'E_USAGE');
    const out = values.out;
    if (!out) throw new UserError(`--out is required.\nusage: ${this.usage}`, 'E_USAGE');
    const format = out.endsWith('.json') ? 'json' : out.endsWith('.safetensors') ? 'safetensors' : undefined;
    if (!format) throw new UserError(`--out ${out}: the name must end in .json or .safetensors, which picks the format.`, 'E_USAGE');
    const provider = (values.provider ?? 'auto') as ProviderRequest;
    if (!PROVIDERS.includes(provider)) throw new UserError(`--provider must be one of ${PROVIDERS.join(', ')}, got "${values.provider}".`, 'E_USAGE');
    const layer = num('layer', values.layer);
    const threads = num('threads', values.threads);

    const file = positionals[0];
    const tokens = tokenize(readTextFile(file));

    const dir = await resolveModel(values.model, { onProgress: progressPrinter() });
    const model = loadModel(dir);
    checkFinite(model);
    const hook = parseHook(values.hook ?? 'hook_mlp_out', model.config, layer, Math.floor(model.config.nLayer / 2));
    const result = await extractActivations(tokens, model, [hook.name], { threads, provider });

    const written = { model, hook, result };
    try {
      fs.writeFileSync(out, format === 'json' ? toJson(written) : toSafetensors(written));
    } catch (e) {
      throw new UserError(`cannot write ${out}: ${(e as Error).message}. Check that its directory exists and is writable.`, 'E_OUTPUT');
    }
    if (model.randomWeights) console.log(`*** RANDOM WEIGHTS: ${model.dir} is a generated test model; these activations mean nothing. Use GPT-2 (--model gpt2) for analysis. ***`);
    console.log(
      `${tokens.length} tokens → ${hook.name} [${tokens.length}, ${hook.width}] on ${result.provider} in ${result.ms.toFixed(0)} ms (model: ${model.label})`,
    );
    console.log(`wrote ${path.resolve(out)}`);
  },
};
