/**
 * A small WebAssembly binary writer: enough of the format for the SAE kernels (kernels.ts) to be
 * generated from TypeScript at run time, so they need no toolchain beyond this repository and run
 * wherever Node runs (every packaged target). Code is built as nested expressions — an expression
 * is its operands' code followed by its opcode — which is the stack machine's order.
 * Format: https://webassembly.github.io/spec/core/binary/ (MVP, plus fixed-width SIMD and threads' shared memory).
 */
export type Code = number[];
export type ValType = 'i32' | 'f32' | 'v128';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

function uleb(v: number): Code {
  const out: Code = [];
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function sleb(v: number): Code {
  const out: Code = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const name = (s: string): Code => vec([...Buffer.from(s, 'utf8')].map((b) => [b]));
const cat = (...parts: Code[]): Code => parts.flat();
const simd = (op: number): Code => [0xfd, ...uleb(op)];
const memarg = (align: number, offset: number): Code => [...uleb(align), ...uleb(offset)];

/** A local variable (or parameter) of the function being built. */
export interface Local {
  readonly index: number;
  readonly type: ValType;
}

/** One exported function: parameters first, then locals declared while building its body. */
export class FnBuilder {
  private readonly locals: ValType[] = [];
  readonly params: Local[];

  constructor(
    readonly exportName: string,
    paramTypes: ValType[],
  ) {
    this.params = paramTypes.map((type, index) => ({ index, type }));
  }

  local(type: ValType): Local {
    this.locals.push(type);
    return { index: this.params.length + this.locals.length - 1, type };
  }

  encodeBody(body: Code): Code {
    const decls = this.locals.map((t) => [1, VALTYPE[t]]);
    const fn = cat(vec(decls), body, [0x0b]);
    return cat(uleb(fn.length), fn);
  }
}

// ---- expressions and statements --------------------------------------------------------------

export const get = (l: Local): Code => [0x20, ...uleb(l.index)];
export const set = (l: Local, v: Code): Code => cat(v, [0x21], uleb(l.index));
export const tee = (l: Local, v: Code): Code => cat(v, [0x22], uleb(l.index));
export const seq = (...stmts: Code[]): Code => stmts.flat();

const bin = (op: number) => (a: Code, b: Code): Code => cat(a, b, [op]);
const un = (op: number) => (a: Code): Code => cat(a, [op]);
const vbin = (op: number) => (a: Code, b: Code): Code => cat(a, b, simd(op));
const vun = (op: number) => (a: Code): Code => cat(a, simd(op));

export const i32 = {
  c: (v: number): Code => [0x41, ...sleb(v | 0)],
  add: bin(0x6a),
  sub: bin(0x6b),
  mul: bin(0x6c),
  and: bin(0x71),
  or: bin(0x72),
  shl: bin(0x74),
  shrU: bin(0x76),
  eq: bin(0x46),
  ne: bin(0x47),
  ltS: bin(0x48),
  ltU: bin(0x49),
  leS: bin(0x4c),
  geS: bin(0x4e),
  geU: bin(0x4f),
  gtU: bin(0x4b),
  eqz: un(0x45),
  popcnt: un(0x69),
  load: (addr: Code, offset = 0): Code => cat(addr, [0x28], memarg(2, offset)),
  store: (addr: Code, v: Code, offset = 0): Code => cat(addr, v, [0x36], memarg(2, offset)),
  load8: (addr: Code, offset = 0): Code => cat(addr, [0x2d], memarg(0, offset)),
  store8: (addr: Code, v: Code, offset = 0): Code => cat(addr, v, [0x3a], memarg(0, offset)),
  fromF32Bits: un(0xbc),
  /** Atomically adds v to the i32 at addr (4-byte aligned); the value before. */
  atomicAdd: (addr: Code, v: Code): Code => cat(addr, v, [0xfe, 0x1e], memarg(2, 0)),
  select: (a: Code, b: Code, cond: Code): Code => cat(a, b, cond, [0x1b]),
};

export const f32 = {
  c: (v: number): Code => {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    return [0x43, ...b];
  },
  add: bin(0x92),
  sub: bin(0x93),
  mul: bin(0x94),
  div: bin(0x95),
  sqrt: un(0x91),
  min: bin(0x96),
  max: bin(0x97),
  gt: bin(0x5e),
  ge: bin(0x60),
  fromI32S: un(0xb2),
  fromBits: un(0xbe),
  demote: un(0xb6),
  load: (addr: Code, offset = 0): Code => cat(addr, [0x2a], memarg(2, offset)),
  store: (addr: Code, v: Code, offset = 0): Code => cat(addr, v, [0x38], memarg(2, offset)),
  select: (a: Code, b: Code, cond: Code): Code => cat(a, b, cond, [0x1b]),
};

/** f32x4 lanes of a v128. */
export const v4 = {
  load: (addr: Code, offset = 0): Code => cat(addr, simd(0x00), memarg(4, offset)),
  store: (addr: Code, v: Code, offset = 0): Code => cat(addr, v, simd(0x0b), memarg(4, offset)),
  splat: vun(0x13),
  zero: (): Code => cat(simd(0x0c), new Array(16).fill(0)),
  lane: (v: Code, lane: number): Code => cat(v, simd(0x1f), [lane]),
  /** Lane `lane` of a v128 read as i32x4 (the float's bits). */
  laneBits: (v: Code, lane: number): Code => cat(v, simd(0x1b), [lane]),
  splatI32: vun(0x11),
  /** i32x4.add: lane-wise integer sum. */
  addI32: vbin(0xae),
  /** i8x16.swizzle: byte i of the result is byte s_i of a (0 where s_i ≥ 16). */
  swizzle: vbin(0x0e),
  add: vbin(0xe4),
  sub: vbin(0xe5),
  mul: vbin(0xe6),
  div: vbin(0xe7),
  sqrt: vun(0xe3),
  /** b > a ? b : a — one instruction, unlike f32x4.max with its NaN and −0 rules (for values known to be ordinary). */
  pmax: vbin(0xeb),
  /** b < a ? b : a. */
  pmin: vbin(0xea),
  ge: vbin(0x46),
  gt: vbin(0x44),
  and: vbin(0x4e),
  /** One bit per 32-bit lane: bit i set where lane i's top bit is (a true comparison). */
  bitmask: vun(0xa4),
  /** a·b + c, fused or not as the hardware does it (relaxed SIMD's f32x4.relaxed_madd). */
  relaxedMadd: (a: Code, b: Code, c: Code): Code => cat(a, b, c, simd(0x105)),
};

export const drop = (v: Code): Code => cat(v, [0x1a]);

/** `if (cond) { then } else { otherwise }`, no result. */
export const when = (cond: Code, then: Code, otherwise?: Code): Code =>
  otherwise ? cat(cond, [0x04, 0x40], then, [0x05], otherwise, [0x0b]) : cat(cond, [0x04, 0x40], then, [0x0b]);

/** `for (i = from; i < to; i += step) body` (signed compare; the body runs zero times when from ≥ to). */
export function forRange(i: Local, from: Code, to: Code, step: number, body: Code): Code {
  return cat(
    set(i, from),
    [0x02, 0x40], // block
    i32.geS(get(i), to),
    [0x0d, 0], // br_if 0: skip when empty
    [0x03, 0x40], // loop
    body,
    set(i, i32.add(get(i), i32.c(step))),
    i32.ltS(get(i), to),
    [0x0d, 0], // br_if 0: again
    [0x0b, 0x0b],
  );
}

/** `while (cond) body` — cond is evaluated before each pass. */
export function whileLoop(cond: Code, body: Code): Code {
  return cat([0x02, 0x40], i32.eqz(cond), [0x0d, 0], [0x03, 0x40], body, cond, [0x0d, 0], [0x0b, 0x0b]);
}

/** Module importing one shared memory as env.memory and exporting the given functions. */
export function buildModule(fns: { fn: FnBuilder; body: Code }[], maxPages: number): Uint8Array<ArrayBuffer> {
  const section = (id: number, content: Code): Code => [id, ...uleb(content.length), ...content];
  const types = fns.map(({ fn }) => cat([0x60], vec(fn.params.map((p) => [VALTYPE[p.type]])), [0]));
  const memoryImport = cat(name('env'), name('memory'), [0x02, 0x03], uleb(1), uleb(maxPages)); // shared, min 1, max
  const bytes = cat(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vec(types)),
    section(2, vec([memoryImport])),
    section(3, vec(fns.map((_, i) => uleb(i)))),
    section(7, vec(fns.map(({ fn }, i) => cat(name(fn.exportName), [0x00], uleb(i))))),
    section(10, vec(fns.map(({ fn, body }) => fn.encodeBody(body)))),
  );
  return new Uint8Array(bytes);
}
