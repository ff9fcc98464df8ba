import { onnx } from 'onnx-proto';

/** An ONNX attribute: integer, `{ f }` float, integer list, `{ floats }`, string, or a tensor value. */
export type Attr = number | { f: number } | number[] | { floats: number[] } | string | { t: onnx.ITensorProto };

export type ElemType = 'float' | 'int64' | 'int32' | 'bool';

const ELEM: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

function valueInfo(name: string, elem: ElemType, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: ELEM[elem], shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function attribute(name: string, v: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.TENSOR, t: v.t };
}

/** A tensor proto holding raw little-endian bytes. */
export function tensorProto(name: string, data: Float32Array | BigInt64Array | Int32Array | Uint8Array, dims: number[], elem: ElemType): onnx.ITensorProto {
  return { name, dims, dataType: ELEM[elem], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Builds one ONNX graph node by node. Names given by the caller are kept; `tmp()` makes fresh ones.
 * Used by both generated graphs: GPT-2's forward pass and the SAE train step.
 */
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  tmp(prefix = 't'): string {
    return `${prefix}__${this.counter++}`;
  }

  input(name: string, elem: ElemType, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  output(name: string, elem: ElemType, dims: (number | string)[]): string {
    this.outputs.push(valueInfo(name, elem, dims));
    return name;
  }

  /** A graph output that is a sequence of tensors. */
  sequenceOutput(name: string, elem: ElemType): string {
    this.outputs.push({ name, type: { sequenceType: { elemType: { tensorType: { elemType: ELEM[elem] } } } } });
    return name;
  }

  /** A constant stored in the model. */
  init(name: string, data: Float32Array | BigInt64Array | Int32Array | Uint8Array, dims: number[], elem: ElemType = 'float'): string {
    this.initializers.push(tensorProto(name, data, dims, elem));
    return name;
  }

  /** A float constant whose bytes stay in another file (path relative to the model file). */
  initExternal(name: string, dims: number[], location: string, offset: number, length: number): string {
    this.initializers.push({
      name,
      dims,
      dataType: ELEM.float,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ],
    });
    return name;
  }

  /** Scalar or 1-D int64 constant (shapes, axes, indices). */
  ints(values: number[], name = this.tmp('i64')): string {
    return this.init(name, BigInt64Array.from(values.map(BigInt)), [values.length], 'int64');
  }

  /** Scalar float constant (0-d). */
  scalar(value: number, name = this.tmp('f')): string {
    return this.init(name, Float32Array.of(value), [], 'float');
  }

  /** Adds a node; returns its first output (outputs default to one fresh name). */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs: string[] | number = 1, domain = ''): string {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.tmp(op.toLowerCase())) : outputs;
    this.nodes.push({ opType: op, input: inputs, output: outs, domain, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return outs[0];
  }

  /** Like node() but returns every output name. */
  nodeN(op: string, inputs: string[], nOut: number, attrs: Record<string, Attr> = {}): string[] {
    const outs = Array.from({ length: nOut }, () => this.tmp(op.toLowerCase()));
    this.node(op, inputs, attrs, outs);
    return outs;
  }

  /** Serialized ModelProto (IR 8, default opset `opset`). */
  toBytes(opset = 17): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'latent-lens',
      opsetImport: [{ domain: '', version: opset }],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
