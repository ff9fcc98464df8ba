import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { parseHook } from '../../../src/core/hooks';
import { buildGpt2Graph } from '../../../src/core/model/gpt2Graph';
import { buildGpt2SuffixGraph } from '../../../src/core/model/gpt2Suffix';
import { loadModel, tensor } from '../../../src/core/model/load';
import { makeTestModel } from '../../../src/core/model/testModel';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpt2graph-'));
makeTestModel({ out: dir, layers: 3, dModel: 32, heads: 2, seed: 1, vocab: 100, positions: 16, prefix: true });
const model = loadModel(dir);
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function graphFor(hooks: string[]) {
  const g = buildGpt2Graph(model, hooks.map((h) => parseHook(h, model.config)));
  return { ...g, proto: onnx.ModelProto.decode(g.bytes) };
}

test('outputs are exactly the requested hooks', () => {
  const { proto, outputs } = graphFor(['blocks.1.mlp.hook_post', 'blocks.0.hook_resid_pre']);
  assert.deepEqual(proto.graph!.output!.map((o) => o.name).sort(), ['blocks.0.hook_resid_pre', 'blocks.1.mlp.hook_post']);
  assert.deepEqual(outputs, ['blocks.1.mlp.hook_post', 'blocks.0.hook_resid_pre']);
  assert.deepEqual(proto.graph!.input!.map((i) => i.name), ['input_ids', 'position_ids']);
  assert.equal(Number(proto.opsetImport![0].version), 17);
});

test('the graph stops at the last requested hook', () => {
  const weightsOf = (hooks: string[]) => new Set(graphFor(hooks).proto.graph!.initializer!.map((t) => t.name ?? '').filter((n) => /^(h\.|w[tp]e)/.test(n)));
  assert.deepEqual([...weightsOf(['blocks.0.hook_resid_pre'])].sort(), ['wpe.weight', 'wte.weight']);
  const pre1 = weightsOf(['blocks.1.mlp.hook_pre']);
  assert.ok(pre1.has('h.1.mlp.c_fc.weight') && pre1.has('h.1.ln_2.bias'));
  assert.ok(!pre1.has('h.1.mlp.c_proj.weight'));
  assert.ok(![...pre1].some((n) => n.startsWith('h.2.')));
  const post1 = weightsOf(['blocks.1.hook_resid_post']);
  assert.ok(post1.has('h.1.mlp.c_proj.bias') && ![...post1].some((n) => n.startsWith('h.2.')));
  assert.equal(weightsOf(['blocks.2.hook_resid_pre']).has('h.1.mlp.c_proj.weight'), true);
});

test('weights are external data pointing at their byte range of model.safetensors (nothing copied)', () => {
  const { proto, weightsDir } = graphFor(['blocks.2.hook_resid_post']);
  assert.equal(weightsDir, path.dirname(model.weightsPath));
  const external = proto.graph!.initializer!.filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
  assert.equal(external.length, 2 + 3 * 12);
  for (const t of external) {
    const kv = Object.fromEntries(t.externalData!.map((e) => [e.key, e.value]));
    const e = tensor(model, t.name!);
    assert.deepEqual(kv, { location: 'model.safetensors', offset: String(e.begin), length: String(e.end - e.begin) });
    assert.deepEqual(t.dims!.map(Number), e.shape);
  }
  assert.ok(graphFor(['blocks.2.hook_resid_post']).bytes.length < 64 * 1024, 'only the graph and tiny constants are in the proto');
});

test('the suffix graph reads only the weights after its hook, then ln_f and the tied wte; inputs are the hook, the state it lacks, rows and targets', () => {
  const suffix = (hook: string) => {
    const proto = onnx.ModelProto.decode(buildGpt2SuffixGraph(model, parseHook(hook, model.config)).bytes);
    return { weights: new Set(proto.graph!.initializer!.map((t) => t.name ?? '').filter((n) => /^(h\.|w[tp]e|ln_f)/.test(n))), inputs: proto.graph!.input!.map((i) => i.name) };
  };
  const mlpOut = suffix('blocks.1.hook_mlp_out');
  assert.deepEqual(mlpOut.inputs, ['hook_value', 'hook_state', 'loss_rows', 'target_ids']);
  assert.ok(mlpOut.weights.has('wte.weight') && mlpOut.weights.has('ln_f.weight') && mlpOut.weights.has('h.2.mlp.c_proj.weight'));
  assert.ok(![...mlpOut.weights].some((n) => n.startsWith('h.0.') || n.startsWith('h.1.') || n === 'wpe.weight'), 'nothing of block 1 is left after hook_mlp_out');
  const post = suffix('blocks.1.mlp.hook_post').weights;
  assert.ok(post.has('h.1.mlp.c_proj.weight') && !post.has('h.1.mlp.c_fc.weight') && !post.has('h.1.ln_2.weight'));
  const attnOut = suffix('blocks.2.hook_attn_out').weights;
  assert.ok(attnOut.has('h.2.ln_2.weight') && !attnOut.has('h.2.attn.c_attn.weight'));
  assert.deepEqual(suffix('blocks.2.hook_resid_post').inputs, ['hook_value', 'loss_rows', 'target_ids'], 'a residual-stream hook carries the whole state');
  assert.deepEqual([...suffix('blocks.2.hook_resid_post').weights].sort(), ['ln_f.bias', 'ln_f.weight', 'wte.weight']);
});
