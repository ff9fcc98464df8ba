import * as path from 'node:path';
import { makeTestModel } from '../core/model/testModel';
import { type Command, num, parse } from './args';
import { UserError } from '../core/errors';

export const makeTestModelCommand: Command = {
  name: 'make-test-model',
  summary: 'write a GPT-2 with seeded random weights (Hugging Face layout) for tests and benchmarks',
  usage: 'latent-lens make-test-model --out DIR [--layers 2] [--d-model 64] [--heads 4] [--seed 0] [--positions 1024] [--vocab 50257] [--prefix]',
  async run(argv) {
    const { values } = parse(this, argv, {
      out: { type: 'string' },
      layers: { type: 'string' },
      'd-model': { type: 'string' },
      heads: { type: 'string' },
      seed: { type: 'string' },
      positions: { type: 'string' },
      vocab: { type: 'string' },
      prefix: { type: 'boolean' },
    }, false);
    if (!values.out) throw new UserError(`--out DIR is required.\nusage: ${this.usage}`, 'E_USAGE');
    const opts = {
      out: values.out,
      layers: num('layers', values.layers) ?? 2,
      dModel: num('d-model', values['d-model']) ?? 64,
      heads: num('heads', values.heads) ?? 4,
      seed: num('seed', values.seed) ?? 0,
      positions: num('positions', values.positions),
      vocab: num('vocab', values.vocab),
      prefix: values.prefix ?? false,
    };
    makeTestModel(opts);
    console.log(`wrote a random-weight GPT-2 (${opts.layers} layers, d=${opts.dModel}, ${opts.heads} heads, seed ${opts.seed}) to ${path.resolve(opts.out)} — RANDOM WEIGHTS, for tests only`);
  },
};
