import * as fs from 'node:fs';
import { UserError } from './errors';

/**
 * The safetensors format: u64 little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`,
 * then the raw little-endian tensor bytes (offsets are relative to the end of the header).
 */
export type Dtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<Dtype, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };

export interface TensorEntry {
  dtype: Dtype;
  shape: number[];
  /** Absolute byte range [begin, end) in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  path: string;
  fileSize: number;
  /** Byte offset where tensor data starts (8 + header length). */
  dataStart: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

const MAX_HEADER = 100 * 1024 * 1024;

function corrupt(path: string, why: string): UserError {
  return new UserError(`${path} is not a valid safetensors file: ${why}. Replace it with a complete copy (delete it to re-download).`, 'E_SAFETENSORS');
}

/** Parses and validates the header of a safetensors buffer prefix; `fileSize` bounds every range. */
export function parseHeader(path: string, head: Buffer, fileSize: number): SafetensorsHeader {
  if (fileSize < 8 || head.length < 8) throw corrupt(path, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const n = head.readBigUInt64LE(0);
  if (n > BigInt(Math.min(MAX_HEADER, fileSize - 8))) throw corrupt(path, `header length ${n} exceeds the file (${fileSize} bytes) — truncated or not safetensors`);
  const len = Number(n);
  if (head.length < 8 + len) throw corrupt(path, 'header is cut short');
  let json: unknown;
  try {
    json = JSON.parse(head.subarray(8, 8 + len).toString('utf8'));
  } catch (e) {
    throw corrupt(path, `header is not JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(path, 'header is not a JSON object');
  const dataStart = 8 + len;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw corrupt(path, `tensor "${name}" has unsupported dtype ${JSON.stringify(e?.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw corrupt(path, `tensor "${name}" has an invalid shape`);
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) throw corrupt(path, `tensor "${name}" has invalid data_offsets`);
    const [b, en] = e.data_offsets as number[];
    const dtype = e.dtype as Dtype;
    const shape = e.shape as number[];
    const want = shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype];
    if (!Number.isInteger(b) || !Number.isInteger(en) || b < 0 || en - b !== want) {
      throw corrupt(path, `tensor "${name}" byte range [${b}, ${en}) does not match ${dtype}${JSON.stringify(shape)} (${want} bytes)`);
    }
    if (dataStart + en > fileSize) throw corrupt(path, `tensor "${name}" ends at byte ${dataStart + en} but the file has ${fileSize} bytes (truncated)`);
    tensors.set(name, { dtype, shape, begin: dataStart + b, end: dataStart + en });
  }
  return { path, fileSize, dataStart, tensors, metadata };
}

/** Reads only the header (cheap even for a 500 MB file). */
export function readHeader(path: string): SafetensorsHeader {
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const len = size >= 8 ? Number(lenBuf.readBigUInt64LE(0)) : 0;
    const head = Buffer.alloc(8 + Math.max(0, Math.min(len, MAX_HEADER, size - 8)));
    fs.readSync(fd, head, 0, head.length, 0);
    return parseHeader(path, head, size);
  } finally {
    fs.closeSync(fd);
  }
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Decodes raw little-endian bytes; F16 and BF16 widen to F32, BOOL reads as U8. Bytes that are a
 * whole buffer of their own are used in place (`owned`); others are copied, aligned.
 */
export function decode(dtype: Dtype, bytes: Uint8Array, owned = false): TensorData {
  const copy = owned && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
  const buf = copy.buffer;
  switch (dtype) {
    case 'F32': return new Float32Array(buf);
    case 'F64': return new Float64Array(buf);
    case 'I64': return new BigInt64Array(buf);
    case 'I32': return new Int32Array(buf);
    case 'U8':
    case 'BOOL': return copy;
    case 'F16': {
      const u = new Uint16Array(buf);
      const out = new Float32Array(u.length);
      for (let i = 0; i < u.length; i++) out[i] = f16ToF32(u[i]);
      return out;
    }
    case 'BF16': {
      const u = new Uint16Array(buf);
      const out = new Float32Array(u.length);
      const w = new Uint32Array(out.buffer);
      for (let i = 0; i < u.length; i++) w[i] = u[i] << 16;
      return out;
    }
  }
}

/** Reads the named tensors (all when `names` is omitted). */
export function readSafetensors(path: string, names?: string[]): { header: SafetensorsHeader; tensors: Map<string, Tensor> } {
  const header = readHeader(path);
  const fd = fs.openSync(path, 'r');
  const tensors = new Map<string, Tensor>();
  try {
    for (const name of names ?? [...header.tensors.keys()]) {
      const e = header.tensors.get(name);
      if (!e) throw new UserError(`${path} has no tensor "${name}" (it has: ${[...header.tensors.keys()].slice(0, 20).join(', ')}${header.tensors.size > 20 ? ', ...' : ''}).`, 'E_SAFETENSORS');
      // A buffer of its own, decoded in place: a 600 MB tensor is not held twice.
      const bytes = new Uint8Array(new ArrayBuffer(e.end - e.begin));
      const got = e.end === e.begin ? 0 : fs.readSync(fd, bytes, 0, bytes.length, e.begin);
      if (got !== bytes.length) throw corrupt(path, `tensor "${name}" is cut short`);
      tensors.set(name, { dtype: e.dtype, shape: e.shape, data: decode(e.dtype, bytes, true) });
    }
  } finally {
    fs.closeSync(fd);
  }
  return { header, tensors };
}

/**
 * A safetensors file of `tensors` (in the given order) with optional string metadata, as parts to
 * write one after the other: the header, then each tensor's bytes (views, not copies). Data starts
 * 8-byte aligned.
 */
export function safetensorsParts(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const want = t.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[t.dtype];
    if (bytes.length !== want) throw new Error(`tensor ${name}: ${bytes.length} bytes for ${t.dtype}${JSON.stringify(t.shape)} (want ${want})`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes.length] };
    parts.push(bytes);
    off += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - ((8 + json.length) % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return [len, json, ...parts];
}

/** Serializes tensors (in the given order) with optional string metadata into one buffer. */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Buffer {
  return Buffer.concat(safetensorsParts(tensors, metadata));
}

export function writeSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  fs.writeFileSync(path, encodeSafetensors(tensors, metadata));
}
