import { buildModule, f32, FnBuilder, forRange, get, i32, seq, set, tee, v4, when, whileLoop, type Code, type Local } from './emit';

/**
 * The sparse parts of the SAE train step as WebAssembly (SIMD) kernels over one shared memory:
 * everything except the dense pre-activation product X·W and the dense latents' products, which
 * onnxruntime computes (kernelEngine.ts drives them, denseLatents.ts says which latents). Per token
 * only its kept latents take part, so the decoder product, ∂loss/∂z and both gradient products cost
 * k·d per token whatever the batch. Rows of Wᵀ, the Adam moments, x and residuals are stored with a
 * padded width `dp` (a multiple of 32, zero-padded), so every row loop is whole 8-lane-group SIMD
 * steps; the padding stays zero through training.
 *
 * All pointers are byte offsets into the memory. Threads split a call by a token range [t0, t1)
 * (decode, columns) or by taking blocks of tokens or latents from a shared counter (sharedBlocks). Sums are
 * written per token (or per latent) and added up by the caller in a fixed order, so results do not
 * depend on how the work was split.
 */
export interface KernelSizes {
  /** Padded row width (dIn rounded up to a multiple of 32). */
  dp: number;
  /** Latents (row length of the pre-activations). */
  L: number;
  /** Multiply-adds as relaxed SIMD's f32x4.relaxed_madd (fused where the hardware has FMA). */
  fma?: boolean;
}

/**
 * v128s per lane-group of select's lower bound for the top-k of rows of L values: about 2k groups of
 * 4·groupV values, and 0 (no bound) when fewer than k whole groups fit in a row.
 */
export function selectGroups(L: number, k: number): number {
  const v128s = Math.floor(L / 4);
  const groupV = Math.floor(v128s / Math.ceil(k / 2));
  return groupV >= 1 && 4 * Math.floor(v128s / groupV) >= k ? groupV : 0;
}

/**
 * The left-pack table select and gather read (at a 16-byte aligned address of the memory): for each
 * 4-bit lane mask m, the i8x16.swizzle that moves the lanes set in m to the front in order, then the
 * i32x4 [0, 1, 2, 3]. With it a v128's kept lanes are stored in one v128 store and the count moves on
 * by popcnt(m): no per-lane branch or store (the lanes past the count are scratch, overwritten next).
 */
export function packTable(): Uint8Array {
  const table = new Uint8Array(PACK_TABLE_BYTES);
  for (let m = 0; m < 16; m++) {
    let at = 16 * m;
    for (let lane = 0; lane < 4; lane++) if (m & (1 << lane)) for (let byte = 0; byte < 4; byte++) table[at++] = 4 * lane + byte;
    table.fill(0x80, at, 16 * (m + 1));
  }
  new Int32Array(table.buffer, 256, 4).set([0, 1, 2, 3]);
  return table;
}
export const PACK_TABLE_BYTES = 16 * 17;

/** Bytes of per-thread scratch that `select` needs (histogram + two candidate lists); gather stages a token's entries there. */
export const selectScratchBytes = (L: number) => 4 * (2048 + 2 * L);

export const paddedWidth = (d: number) => Math.ceil(d / 32) * 32;

/** Largest memory the module may grow to (in 64 KiB pages): 4 GiB, wasm32's limit. */
export const MAX_PAGES = 65536;

const addr = (base: Local, index: Code, bytes: number): Code => i32.add(get(base), i32.mul(index, i32.c(bytes)));

/**
 * `body` for each index i of [0, end), taken in blocks of `size` from the shared i32 counter at byte
 * address `next` (the caller zeroes it before the threads start): a thread that starts late or is
 * slowed down takes fewer blocks. What an index computes does not depend on which thread takes it.
 */
function sharedBlocks(fn: FnBuilder, next: Local, end: Code, size: number, i: Local, body: Code): Code {
  const lo = fn.local('i32');
  const hi = fn.local('i32');
  return whileLoop(
    i32.ltS(tee(lo, i32.atomicAdd(get(next), i32.c(size))), end),
    seq(set(hi, i32.add(get(lo), i32.c(size))), when(i32.gtU(get(hi), end), set(hi, end)), forRange(i, get(lo), get(hi), 1, body)),
  );
}

/** vv = the v128 of row values from element j on, times the mask's when mask ≠ 0. */
const maskedValues = (vv: Local, row: Local, mask: Local, j: Code): Code =>
  when(get(mask), set(vv, v4.mul(v4.load(addr(row, j, 4)), v4.load(addr(mask, j, 4)))), set(vv, v4.load(addr(row, j, 4))));
/** Row value j times mask value j, or the row value alone when mask = 0 (for the values past the last whole v128). */
const maskedValue = (row: Local, mask: Local, j: Code): Code => f32.mul(f32.load(addr(row, j, 4)), f32.select(f32.load(addr(mask, j, 4)), f32.c(1), get(mask)));

/**
 * For each v128 of a row's first L4 values (element j): `lanes(j)` sets `bits` to the mask of the
 * lanes to keep, then `store(shuffle)` writes them left-packed (packTable) at entry `count`, which
 * moves on by their number.
 */
function packRow(j: Local, L4: number, pack: Local, bits: Local, count: Local, lanesOf: (j: Code) => Code, store: (shuffle: Code) => Code): Code {
  return forRange(j, i32.c(0), i32.c(L4), 4, seq(lanesOf(get(j)), store(v4.load(addr(pack, get(bits), 16))), set(count, i32.add(get(count), i32.popcnt(get(bits))))));
}

/** A v128's four f32 lanes combined by op (f32.add: their sum; f32.max: their maximum). */
const lanes = (v: Local, op: (a: Code, b: Code) => Code) => op(op(v4.lane(get(v), 0), v4.lane(get(v), 1)), op(v4.lane(get(v), 2), v4.lane(get(v), 3)));

/**
 * select(r, next, n, k, mask, thr, cnt, scratch, groupV, pack): for each token row of r [n, L] (values ≥ 0),
 * the k-th largest of v_j = r_j·mask_j counting equal values separately (thr[t], f32) and how many
 * v_j are kept by the top-k rule, v_j ≥ thr and v_j > 0 (cnt[t], i32); mask = 0 means no mask.
 * Exact: first a lower bound of the k-th largest from the maxima of disjoint groups of values (lane
 * l of groupV consecutive v128s; selectGroups): the floor of the 2048-bucket histogram bucket (bits
 * 30…20) holding the k-th largest maximum, since at least k groups, so k distinct values, reach it
 * (groupV = 0: no bound). With about 2k groups it keeps ~10 % of the values of real rows at k = L/16
 * (the smallest of ⌈k/4⌉·4 group maxima kept a third). Only values ≥ it become candidates; then
 * radix select on the candidates' float bits (non-negative floats order like their bit patterns):
 * 2048 buckets on bits 30…20, and the boundary bucket's keys ranked on bits 19…10, then 9…0.
 */
function selectKernel({ L }: KernelSizes) {
  const fn = new FnBuilder('select', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [r, next, n, k, mask, thr, cnt, scratch, groupV, pack] = fn.params;
  const t = fn.local('i32');
  const j = fn.local('i32');
  const q = fn.local('i32');
  const row = fn.local('i32');
  const key = fn.local('i32');
  const b = fn.local('i32');
  const cum = fn.local('i32');
  const need = fn.local('i32');
  const m = fn.local('i32');
  const m2 = fn.local('i32');
  const prefix = fn.local('i32');
  const kept = fn.local('i32');
  const bits = fn.local('i32');
  const top = fn.local('i32'); // highest non-empty bucket
  const gsize = fn.local('i32'); // values per step of the lower bound's groups (4·groupV), 0: no bound
  const lb = fn.local('f32');
  const vv = fn.local('v128');
  const gm = fn.local('v128');
  const lbv = fn.local('v128');
  const hist = scratch;
  const cand = fn.local('i32');
  const cand2 = fn.local('i32');
  const L4 = L - (L % 4);

  const valuesAt = (jj: Code) => maskedValues(vv, row, mask, jj);
  const scalarAt = (jj: Code) => maskedValue(row, mask, jj);
  const bump = (bucket: Code) => {
    const at = addr(hist, bucket, 4);
    return i32.store(at, i32.add(i32.load(at), i32.c(1)));
  };
  const clear = (buckets: number) => forRange(q, i32.c(0), i32.c(buckets * 4), 16, v4.store(i32.add(get(hist), get(q)), v4.zero()));
  /** Walks buckets down from `top` until the running count reaches `need`; leaves the bucket in b, the count above it in cum and the rank within it in need. */
  const findBucket = (from: Code) =>
    seq(
      set(b, from),
      set(cum, i32.c(0)),
      whileLoop(i32.ltS(i32.add(get(cum), i32.load(addr(hist, get(b), 4))), get(need)), seq(set(cum, i32.add(get(cum), i32.load(addr(hist, get(b), 4)))), set(b, i32.sub(get(b), i32.c(1))))),
      set(need, i32.sub(get(need), get(cum))),
    );
  const keyOf = (v: Code) => i32.and(i32.fromF32Bits(v), i32.c(0x7fffffff)); // −0 → 0
  /** Appends key to `list` (count in `n`) when `keep` is non-zero, without a branch. */
  const append = (list: Local, n: Local, keyCode: Code, keep: Code) => seq(i32.store(addr(list, get(n), 4), keyCode), set(n, i32.add(get(n), keep)));
  // Ranks the m2 boundary keys on the 10 bits at `shift`, among those whose higher bits equal prefix.
  const refine = (shift: number) =>
    seq(
      clear(1024),
      forRange(
        j,
        i32.c(0),
        get(m2),
        1,
        seq(set(key, i32.load(addr(cand2, get(j), 4))), when(i32.eq(i32.shrU(get(key), i32.c(shift + 10)), get(prefix)), bump(i32.and(i32.shrU(get(key), i32.c(shift)), i32.c(1023))))),
      ),
      findBucket(i32.c(1023)),
      set(prefix, i32.or(i32.shl(get(prefix), i32.c(10)), get(b))),
    );

  const body = seq(
    set(cand, i32.add(get(scratch), i32.c(4 * 2048))),
    set(cand2, i32.add(get(cand), i32.c(4 * L))),
    set(gsize, i32.mul(get(groupV), i32.c(4))), // values per lane-group step
    sharedBlocks(
      fn,
      next,
      get(n),
      SELECT_BLOCK,
      t,
      seq(
        set(row, addr(r, get(t), 4 * L)),
        set(lb, f32.c(0)),
        when(
          get(gsize),
          seq(
            clear(2048),
            set(top, i32.c(0)),
            set(j, i32.c(0)),
            whileLoop(
              i32.leS(i32.add(get(j), get(gsize)), i32.c(L4)),
              seq(
                valuesAt(get(j)),
                set(gm, get(vv)),
                forRange(q, i32.add(get(j), i32.c(4)), i32.add(get(j), get(gsize)), 4, seq(valuesAt(get(q)), set(gm, v4.pmax(get(gm), get(vv))))),
                ...[0, 1, 2, 3].map((lane) =>
                  seq(set(key, i32.shrU(i32.and(v4.laneBits(get(gm), lane), i32.c(0x7fffffff)), i32.c(20))), bump(get(key)), set(top, i32.select(get(key), get(top), i32.gtU(get(key), get(top))))),
                ),
                set(j, i32.add(get(j), get(gsize))),
              ),
            ),
            set(need, get(k)),
            findBucket(get(top)),
            set(lb, f32.fromBits(i32.shl(get(b), i32.c(20)))),
          ),
        ),
        set(lbv, v4.splat(get(lb))),
        set(m, i32.c(0)),
        // Keys of the values ≥ lb (−0 → 0); past the L candidates there is room for a packed store (cand2 follows).
        packRow(
          j,
          L4,
          pack,
          bits,
          m,
          (jj) => seq(valuesAt(jj), set(bits, v4.bitmask(v4.ge(get(vv), get(lbv))))),
          (shuffle) => v4.store(addr(cand, get(m), 4), v4.swizzle(v4.and(get(vv), v4.splatI32(i32.c(0x7fffffff))), shuffle)),
        ),
        forRange(j, i32.c(L4), i32.c(L), 1, append(cand, m, keyOf(scalarAt(get(j))), f32.ge(scalarAt(get(j)), get(lb)))),
        clear(2048),
        set(top, i32.c(0)),
        forRange(
          j,
          i32.c(0),
          get(m),
          1,
          seq(set(key, i32.shrU(i32.load(addr(cand, get(j), 4)), i32.c(20))), bump(get(key)), set(top, i32.select(get(key), get(top), i32.gtU(get(key), get(top))))),
        ),
        set(need, get(k)),
        findBucket(get(top)),
        set(kept, get(cum)), // candidates in higher buckets: all above the threshold
        set(prefix, get(b)),
        set(m2, i32.c(0)),
        forRange(j, i32.c(0), get(m), 1, seq(set(key, i32.load(addr(cand, get(j), 4))), append(cand2, m2, get(key), i32.eq(i32.shrU(get(key), i32.c(20)), get(prefix))))),
        refine(10),
        refine(0),
        // prefix is now the k-th largest key; count the boundary keys kept (≥ it and > 0).
        set(b, i32.select(get(prefix), i32.c(1), get(prefix))),
        forRange(j, i32.c(0), get(m2), 1, when(i32.geU(i32.load(addr(cand2, get(j), 4)), get(b)), set(kept, i32.add(get(kept), i32.c(1))))),
        f32.store(addr(thr, get(t), 4), f32.fromBits(get(prefix))),
        i32.store(addr(cnt, get(t), 4), get(kept)),
      ),
    ),
  );
  return { fn, body };
}

/**
 * gather(r, next, n, mask, thr, rowPtr, idx, val, absSum, pack, scratch): writes each token's kept
 * latents (v_j = r_j·mask_j ≥ thr[t] and > 0; mask = 0: no mask) in latent order from entry rowPtr[t]
 * on: idx (i32) and val (f32); absSum[t] = Σ of the kept values. A row is left-packed (packTable) into
 * the thread's scratch (2·(L + 4) ints, select's), then copied: the packed stores write past the
 * row's last entry, which in place would be the next token's first ones.
 */
function gatherKernel({ L }: KernelSizes) {
  const fn = new FnBuilder('gather', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [r, next, n, mask, thr, rowPtr, idx, val, absSum, pack, scratch] = fn.params;
  const t = fn.local('i32');
  const j = fn.local('i32');
  const row = fn.local('i32');
  const p = fn.local('i32');
  const at = fn.local('i32');
  const hits = fn.local('i32');
  const sIdx = fn.local('i32');
  const sVal = fn.local('i32');
  const th = fn.local('f32');
  const v = fn.local('f32');
  const sum = fn.local('f32');
  const thv = fn.local('v128');
  const vv = fn.local('v128');
  const sh = fn.local('v128');
  const iota = fn.local('v128');
  const L4 = L - (L % 4);
  const body = seq(
    set(sIdx, get(scratch)),
    set(sVal, i32.add(get(scratch), i32.c(4 * (L + 4)))),
    set(iota, v4.load(get(pack), 256)),
    sharedBlocks(
      fn,
      next,
      get(n),
      GATHER_BLOCK,
      t,
      seq(
        set(row, addr(r, get(t), 4 * L)),
        set(th, f32.load(addr(thr, get(t), 4))),
        set(thv, v4.splat(get(th))),
        set(p, i32.c(0)),
        packRow(
          j,
          L4,
          pack,
          hits,
          p,
          (jj) => seq(maskedValues(vv, row, mask, jj), set(hits, v4.bitmask(v4.and(v4.ge(get(vv), get(thv)), v4.gt(get(vv), v4.zero()))))),
          (shuffle) => seq(set(sh, shuffle), v4.store(addr(sIdx, get(p), 4), v4.swizzle(v4.addI32(v4.splatI32(get(j)), get(iota)), get(sh))), v4.store(addr(sVal, get(p), 4), v4.swizzle(get(vv), get(sh)))),
        ),
        forRange(
          j,
          i32.c(L4),
          i32.c(L),
          1,
          seq(
            set(v, maskedValue(row, mask, get(j))),
            i32.store(addr(sIdx, get(p), 4), get(j)),
            f32.store(addr(sVal, get(p), 4), get(v)),
            set(p, i32.add(get(p), i32.and(f32.ge(get(v), get(th)), f32.gt(get(v), f32.c(0))))),
          ),
        ),
        // Σ of the kept values in latent order, and the entries to their place.
        set(at, i32.load(addr(rowPtr, get(t), 4))),
        set(sum, f32.c(0)),
        forRange(j, i32.c(0), get(p), 1, seq(set(sum, f32.add(get(sum), f32.load(addr(sVal, get(j), 4)))), i32.store(addr(idx, i32.add(get(at), get(j)), 4), i32.load(addr(sIdx, get(j), 4))), f32.store(addr(val, i32.add(get(at), get(j)), 4), f32.load(addr(sVal, get(j), 4))))),
        f32.store(addr(absSum, get(t), 4), get(sum)),
      ),
    ),
  );
  return { fn, body };
}

/** v128 lanes-groups per unrolled row step: 8 × 4 floats = 32, the padding unit. */
const GROUP = 8;
/**
 * v128 accumulators of the decoder's register tile. V8 loads a step's TILE values before it adds
 * them, and x64 gives it 15 vector registers: 7 sums + 7 values + the multiplier fit, 8 spill.
 */
const TILE = 7;
/** Latents per block of the decoder: 256 rows of Wᵀ (768 KB at d 768) stay in a core's L2 cache. */
const DECODE_BLOCK = 256;

/** Tokens or latents a thread takes at a time from the shared counter (sharedBlocks). */
const SELECT_BLOCK = 8;
const GATHER_BLOCK = 16;
const BACKWARD_BLOCK = 32;
const DENSIFY_BLOCK = 4;
const ADAM_BLOCK = 64;

/** a·b + c: fused where the runtime has relaxed SIMD (relaxedSimd.ts), else a multiply and an add. */
const multiplyAdd = (fma: boolean | undefined) => (a: Code, b: Code, c: Code): Code => (fma ? v4.relaxedMadd(a, b, c) : v4.add(c, v4.mul(a, b)));

/**
 * decode(wt, t0, t1, c, rowPtr, rowEnd, idx, val, auxPtr, auxIdx, auxVal, cursor, x, res, sse, aux, init): the
 * residuals of tokens [t0, t1) of a chunk of c tokens, from their entries by token (token t's are
 * rowPtr[t] … rowEnd[t] − 1, latents in order):
 *   res[t] = y_t + x̂_t − x_t,  x̂_t = Σ_j z_tj·Wᵀ_j,  y_t = res[t] as given when init ≠ 0 (the dense
 *   latents' part, kernelEngine.ts), else 0;   with aux ≠ 0 also res[c + t] = ê_t − e_t = ê_t + res[t],
 *   ê_t = Σ_j a_tj·Wᵀ_j (the AuxK code's rows); sse[t] = ‖res[t]‖², sse[c + t] = ‖res[c + t]‖².
 * Latents go in blocks of DECODE_BLOCK, so a block's rows of Wᵀ stay in cache while every token
 * takes its entries from it; a token's sum is built TILE floats at a time in registers, its terms
 * added in latent order (y_t − x_t first), as a plain loop over its entries would. `cursor` is c ints of scratch.
 */
function decodeKernel({ dp, L, fma }: KernelSizes) {
  const fn = new FnBuilder('decode', Array.from({ length: 17 }, () => 'i32' as const));
  const [wt, t0, t1, c, rowPtr, rowEnd, idx, val, auxPtr, auxIdx, auxVal, cursor, x, res, sse, aux, init] = fn.params;
  const t = fn.local('i32');
  const i = fn.local('i32');
  const e = fn.local('i32');
  const e0 = fn.local('i32');
  const e1 = fn.local('i32');
  const eEnd = fn.local('i32');
  const jb = fn.local('i32');
  const jEnd = fn.local('i32');
  const o = fn.local('i32');
  const b = fn.local('i32');
  const w = fn.local('i32');
  const s = fn.local('v128');
  const sq = fn.local('v128');
  const ov = fn.local('v128');
  const acc = Array.from({ length: TILE }, () => fn.local('v128'));
  const rowBytes = 4 * dp;
  // Byte ranges of the row's tiles: whole tiles of TILE v128s, then one narrower tile for the rest.
  const whole = Math.floor(dp / 4 / TILE) * TILE * 16;
  const tiles = [
    { from: 0, to: whole, width: TILE },
    { from: whole, to: rowBytes, width: (rowBytes - whole) / 16 },
  ].filter((tile) => tile.to > tile.from);
  const madd = multiplyAdd(fma);
  const groups = (f: (g: number) => Code) => forRange(i, i32.c(0), i32.c(rowBytes), 16 * GROUP, seq(...Array.from({ length: GROUP }, (_, g) => f(g))));
  const tokens = (f: Code) => forRange(t, get(t0), get(t1), 1, f);
  const rowSse = (row: Code, at: Code) =>
    seq(
      set(o, row),
      set(sq, v4.zero()),
      groups((g) => seq(set(ov, v4.load(i32.add(get(o), get(i)), 16 * g)), set(sq, v4.add(get(sq), v4.mul(get(ov), get(ov)))))),
      f32.store(at, lanes(sq, f32.add)),
    );
  /** Adds Σ_j v_tj·Wᵀ_j to rows out + t·rowBytes for the entries (ix, vals) of each token, ptr[t] … end(t) − 1, block by block. */
  const accumulate = (ptr: Local, end: (tt: Code) => Code, ix: Local, vals: Local, out: Code) =>
    seq(
      tokens(i32.store(addr(cursor, get(t), 4), i32.load(addr(ptr, get(t), 4)))),
      forRange(
        jb,
        i32.c(0),
        i32.c(L),
        DECODE_BLOCK,
        seq(
          set(jEnd, i32.add(get(jb), i32.c(DECODE_BLOCK))),
          tokens(
            seq(
              set(e0, i32.load(addr(cursor, get(t), 4))),
              set(eEnd, end(get(t))),
              set(e1, get(e0)),
              whileLoop(i32.and(i32.ltS(get(e1), get(eEnd)), i32.ltS(i32.load(addr(ix, get(e1), 4)), get(jEnd))), set(e1, i32.add(get(e1), i32.c(1)))),
              i32.store(addr(cursor, get(t), 4), get(e1)),
              when(
                i32.ltS(get(e0), get(e1)),
                seq(
                  set(o, i32.add(out, i32.mul(get(t), i32.c(rowBytes)))),
                  ...tiles.map(({ from, to, width }) =>
                    forRange(
                      i,
                      i32.c(from),
                      i32.c(to),
                      16 * width,
                      seq(
                        set(b, i32.add(get(o), get(i))),
                        ...acc.slice(0, width).map((a, g) => set(a, v4.load(get(b), 16 * g))),
                        forRange(
                          e,
                          get(e0),
                          get(e1),
                          1,
                          seq(
                            set(w, i32.add(addr(wt, i32.load(addr(ix, get(e), 4)), rowBytes), get(i))),
                            set(s, v4.splat(f32.load(addr(vals, get(e), 4)))),
                            ...acc.slice(0, width).map((a, g) => set(a, madd(get(s), v4.load(get(w), 16 * g), get(a)))),
                          ),
                        ),
                        ...acc.slice(0, width).map((a, g) => v4.store(get(b), get(a), 16 * g)),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  const body = seq(
    tokens(
      seq(
        set(o, addr(res, get(t), rowBytes)),
        set(b, addr(x, get(t), rowBytes)),
        when(i32.eqz(get(init)), groups((g) => v4.store(i32.add(get(o), get(i)), v4.zero(), 16 * g))),
        groups((g) => v4.store(i32.add(get(o), get(i)), v4.sub(v4.load(i32.add(get(o), get(i)), 16 * g), v4.load(i32.add(get(b), get(i)), 16 * g)), 16 * g)),
        when(get(aux), seq(set(o, addr(res, i32.add(get(t), get(c)), rowBytes)), groups((g) => v4.store(i32.add(get(o), get(i)), v4.zero(), 16 * g)))),
      ),
    ),
    accumulate(rowPtr, (tt) => i32.load(addr(rowEnd, tt, 4)), idx, val, get(res)),
    when(get(aux), accumulate(auxPtr, (tt) => i32.load(addr(auxPtr, tt, 4), 4), auxIdx, auxVal, addr(res, get(c), rowBytes))),
    tokens(
      seq(
        when(
          get(aux),
          seq(
            set(o, addr(res, i32.add(get(t), get(c)), rowBytes)),
            set(b, addr(res, get(t), rowBytes)),
            groups((g) => v4.store(i32.add(get(o), get(i)), v4.add(v4.load(i32.add(get(o), get(i)), 16 * g), v4.load(i32.add(get(b), get(i)), 16 * g)), 16 * g)),
            rowSse(addr(res, i32.add(get(t), get(c)), rowBytes), addr(sse, i32.add(get(t), get(c)), 4)),
          ),
        ),
        rowSse(addr(res, get(t), rowBytes), addr(sse, get(t), 4)),
      ),
    ),
  );
  return { fn, body };
}

/**
 * densify(next, colPtr, colTok, colVal, ids, m, c, zt): the codes of latents ids[0 … m − 1] (i32) as
 * dense rows: zt [m, c] (f32), zt[s][t] = the value of token t's entry of latent ids[s], 0 where it has
 * none (main entries only: tokens < c).
 */
function densifyKernel() {
  const fn = new FnBuilder('densify', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [next, colPtr, colTok, colVal, ids, m, c, zt] = fn.params;
  const s = fn.local('i32');
  const e = fn.local('i32');
  const j = fn.local('i32');
  const row = fn.local('i32');
  const q = fn.local('i32');
  const body = sharedBlocks(
    fn,
    next,
    get(m),
    DENSIFY_BLOCK,
    s,
    seq(
      set(row, i32.add(get(zt), i32.mul(get(s), i32.mul(get(c), i32.c(4))))),
      forRange(q, i32.c(0), i32.mul(get(c), i32.c(4)), 4, f32.store(i32.add(get(row), get(q)), f32.c(0))),
      set(j, i32.load(addr(ids, get(s), 4))),
      forRange(
        e,
        i32.load(addr(colPtr, get(j), 4)),
        i32.load(addr(colPtr, get(j), 4), 4),
        1,
        when(i32.ltS(tee(q, i32.load(addr(colTok, get(e), 4))), get(c)), f32.store(addr(row, get(q), 4), f32.load(addr(colVal, get(e), 4)))),
      ),
    ),
  );
  return { fn, body };
}

/**
 * sparseOnly(next, n, rowPtr, idx, val, slot, rowEnd): drops from each token's entries (rowPtr[t] …
 * rowPtr[t + 1] − 1, compacted in place, order kept) those of latents with slot[j] ≠ 0 (i32), the
 * latents the dense products handle; rowEnd[t] is where the token's kept entries end.
 */
function sparseOnlyKernel() {
  const fn = new FnBuilder('sparseOnly', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [next, n, rowPtr, idx, val, slot, rowEnd] = fn.params;
  const t = fn.local('i32');
  const e = fn.local('i32');
  const p = fn.local('i32');
  const j = fn.local('i32');
  const body = sharedBlocks(
    fn,
    next,
    get(n),
    GATHER_BLOCK,
    t,
    seq(
      set(p, i32.load(addr(rowPtr, get(t), 4))),
      forRange(
        e,
        get(p),
        i32.load(addr(rowPtr, get(t), 4), 4),
        1,
        seq(
          set(j, i32.load(addr(idx, get(e), 4))),
          i32.store(addr(idx, get(p), 4), get(j)),
          f32.store(addr(val, get(p), 4), f32.load(addr(val, get(e), 4))),
          set(p, i32.add(get(p), i32.eqz(i32.load(addr(slot, get(j), 4))))),
        ),
      ),
      i32.store(addr(rowEnd, get(t), 4), get(p)),
    ),
  );
  return { fn, body };
}

/**
 * The chunk's entries by latent (a counting sort), for the backward kernel: column j holds its main
 * entries in token order (token t) then its AuxK entries (token n + t). Each thread takes a range of
 * main tokens [t0, t1) and of AuxK tokens [a0, a1), the ranges in token order, and has two count
 * arrays of L ints (cMain, cAux):
 *   columnsCount(t0, t1, a0, a1, rowPtr, idx, auxPtr, auxIdx, cMain, cAux): counts its entries per latent;
 *   then the caller turns the counts into each thread's first position per column (columnStarts);
 *   columnsPlace(t0, t1, a0, a1, n, rowPtr, idx, val, auxPtr, auxIdx, auxVal, cMain, cAux, colTok, colVal):
 *     writes its entries there, so columns come out the same for any split.
 */
function columnsCountKernel({ L }: KernelSizes) {
  const fn = new FnBuilder('columnsCount', Array.from({ length: 10 }, () => 'i32' as const));
  const [t0, t1, a0, a1, rowPtr, idx, auxPtr, auxIdx, cMain, cAux] = fn.params;
  const j = fn.local('i32');
  const e = fn.local('i32');
  const at = fn.local('i32');
  const count = (ptr: Local, ix: Local, from: Local, to: Local, counts: Local) =>
    forRange(
      e,
      i32.load(addr(ptr, get(from), 4)),
      i32.load(addr(ptr, get(to), 4)),
      1,
      seq(set(at, addr(counts, i32.load(addr(ix, get(e), 4)), 4)), i32.store(get(at), i32.add(i32.load(get(at)), i32.c(1)))),
    );
  const body = seq(
    forRange(j, i32.c(0), i32.c(4 * L), 4, seq(i32.store(i32.add(get(cMain), get(j)), i32.c(0)), i32.store(i32.add(get(cAux), get(j)), i32.c(0)))),
    count(rowPtr, idx, t0, t1, cMain),
    when(i32.ltS(get(a0), get(a1)), count(auxPtr, auxIdx, a0, a1, cAux)),
  );
  return { fn, body };
}

function columnsPlaceKernel() {
  const fn = new FnBuilder('columnsPlace', Array.from({ length: 15 }, () => 'i32' as const));
  const [t0, t1, a0, a1, n, rowPtr, idx, val, auxPtr, auxIdx, auxVal, cMain, cAux, colTok, colVal] = fn.params;
  const t = fn.local('i32');
  const e = fn.local('i32');
  const c = fn.local('i32');
  const at = fn.local('i32');
  const place = (ptr: Local, ix: Local, vals: Local, from: Local, to: Local, cursor: Local, tokenBase: Code) =>
    forRange(
      t,
      get(from),
      get(to),
      1,
      forRange(
        e,
        i32.load(addr(ptr, get(t), 4)),
        i32.load(addr(ptr, get(t), 4), 4),
        1,
        seq(
          set(at, addr(cursor, i32.load(addr(ix, get(e), 4)), 4)),
          set(c, i32.load(get(at))),
          i32.store(get(at), i32.add(get(c), i32.c(1))),
          i32.store(addr(colTok, get(c), 4), i32.add(get(t), tokenBase)),
          f32.store(addr(colVal, get(c), 4), f32.load(addr(vals, get(e), 4))),
        ),
      ),
    );
  const body = seq(place(rowPtr, idx, val, t0, t1, cMain, i32.c(0)), place(auxPtr, auxIdx, auxVal, a0, a1, cAux, get(n)));
  return { fn, body };
}

/**
 * Between columnsCount and columnsPlace: turns the threads' counts (counts[q] for q = 2p, 2p + 1: thread
 * p's main and AuxK counts, L ints each) into their first positions per column, main entries of all
 * threads then AuxK entries; fills colPtr [L + 1] and sets (u8) fired[j] = 1 where latent j has a main
 * entry, touched[j] = 1 where it has any (here, not in the kernel: threads storing to the same cache
 * lines made columnsCount 4× slower).
 */
export function columnStarts(counts: Int32Array[], colPtr: Int32Array, fired: Uint8Array, touched: Uint8Array): void {
  const L = colPtr.length - 1;
  const main = counts.filter((_, q) => q % 2 === 0);
  const order = [...main, ...counts.filter((_, q) => q % 2 === 1)];
  let at = 0;
  for (let j = 0; j < L; j++) {
    colPtr[j] = at;
    for (let q = 0; q < order.length; q++) {
      if (q === main.length && at > colPtr[j]) fired[j] = 1;
      const n = order[q][j];
      order[q][j] = at;
      at += n;
    }
    if (at > colPtr[j]) touched[j] = 1;
  }
  colPtr[L] = at;
}

/**
 * `body(g)` for g < G, then every pointer moves on by G v128s, until ptrs[0] has moved one row
 * (rowBytes, a multiple of 16·G): a row loop whose loads and stores address `pointer + constant`,
 * one instruction each, instead of `base + i` (an add per access); `end` is scratch.
 */
function rowLoop(rowBytes: number, G: number, ptrs: Local[], end: Local, body: (g: number) => Code): Code {
  return seq(
    set(end, i32.add(get(ptrs[0]), i32.c(rowBytes))),
    whileLoop(i32.ltU(get(ptrs[0]), get(end)), seq(...Array.from({ length: G }, (_, g) => body(g)), ...ptrs.map((p) => set(p, i32.add(get(p), i32.c(16 * G)))))),
  );
}

/**
 * backward(wt, next, colPtr, colTok, colVal, res, x, n, cMain, cAux, l1Grad, grad, slot, dense): adds each
 * latent j's terms of the chunk to ∇Wᵀ_j (grad rows, accumulated). A dense latent (slot[j] = s > 0,
 * i32) adds cMain·dense[s − 1], its row from the dense products (denseLatents.ts; padded like the
 * others). For any other latent, each entry (token t', value z) of its column adds
 *   ρ = c·res[t'],  δ = ρ·Wᵀ_j + l1Grad (main entries only),  ∇Wᵀ_j += z·ρ + δ·x[t]
 * with c = cMain, t = t' for main entries (t' < n) and c = cAux, t = t' − n for AuxK entries: the
 * decoder part z·∂loss/∂x̂ and the encoder part (∂loss/∂z)·x of the tied weights. Entries go four
 * at a time: one pass over Wᵀ_j for four dot products, then one read-modify-write of ∇Wᵀ_j adding
 * the eight terms in entry order. Both passes step pointers (rowLoop) and keep few values live per
 * step: V8 issues a step's loads before its arithmetic, so wider steps spill registers (measured:
 * one v128 per dot-product step and two per gradient step are 20 % faster than four and four).
 */
function backwardKernel({ dp, L, fma }: KernelSizes) {
  const fn = new FnBuilder('backward', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32', 'f32', 'f32', 'i32', 'i32', 'i32']);
  const [wt, next, colPtr, colTok, colVal, res, x, n, cMain, cAux, l1Grad, grad, slot, dense] = fn.params;
  const j = fn.local('i32');
  const e = fn.local('i32');
  const e1 = fn.local('i32');
  const w = fn.local('i32');
  const gr = fn.local('i32');
  const p = fn.local('i32'); // the row loops' pointer into Wᵀ_j, then ∇Wᵀ_j
  const q = fn.local('i32'); // … into the dense row
  const s = fn.local('i32');
  const end = fn.local('i32');
  const cv = fn.local('v128');
  const wv = fn.local('v128');
  const gv = fn.local('v128');
  const rowBytes = 4 * dp;
  const madd = multiplyAdd(fma);
  const B = 4; // entries per pass
  const lane = Array.from({ length: B }, () => ({
    tok: fn.local('i32'),
    aux: fn.local('i32'),
    rr: fn.local('i32'),
    xr: fn.local('i32'),
    c: fn.local('f32'),
    acc: fn.local('v128'),
    a: fn.local('v128'),
    dz: fn.local('v128'),
  }));
  const rowOf = (base: Local, t: Code) => addr(base, t, rowBytes);

  /** The entries e … e + size − 1 of the current column (latent j, Wᵀ_j at w, ∇Wᵀ_j at gr). */
  const entries = (size: number) => {
    const ls = lane.slice(0, size);
    const at = (p: Local, g: number) => v4.load(get(p), 16 * g);
    return seq(
      ...ls.map((l, b) =>
        seq(
          set(l.tok, i32.load(addr(colTok, i32.add(get(e), i32.c(b)), 4))),
          set(l.aux, i32.geS(get(l.tok), get(n))),
          set(l.c, f32.select(get(cAux), get(cMain), get(l.aux))),
          set(l.rr, rowOf(res, get(l.tok))),
          set(l.acc, v4.zero()),
        ),
      ),
      set(p, get(w)),
      rowLoop(rowBytes, 1, [p, ...ls.map((l) => l.rr)], end, () => seq(set(wv, at(p, 0)), ...ls.map((l) => set(l.acc, madd(get(wv), at(l.rr, 0), get(l.acc)))))),
      ...ls.map((l, b) =>
        seq(
          set(l.dz, v4.splat(f32.add(f32.mul(get(l.c), lanes(l.acc, f32.add)), f32.select(f32.c(0), get(l1Grad), get(l.aux))))),
          set(l.a, v4.splat(f32.mul(get(l.c), f32.load(addr(colVal, i32.add(get(e), i32.c(b)), 4))))),
          set(l.rr, rowOf(res, get(l.tok))),
          set(l.xr, rowOf(x, i32.sub(get(l.tok), i32.select(get(n), i32.c(0), get(l.aux))))),
        ),
      ),
      set(p, get(gr)),
      rowLoop(rowBytes, 2, [p, ...ls.flatMap((l) => [l.rr, l.xr])], end, (g) =>
        seq(
          set(gv, at(p, g)),
          ...ls.map((l) => seq(set(gv, madd(get(l.a), at(l.rr, g), get(gv))), set(gv, madd(get(l.dz), at(l.xr, g), get(gv))))),
          v4.store(get(p), get(gv), 16 * g),
        ),
      ),
      set(e, i32.add(get(e), i32.c(size))),
    );
  };
  const body = seq(
    set(cv, v4.splat(get(cMain))),
    sharedBlocks(
      fn,
      next,
      i32.c(L),
      BACKWARD_BLOCK,
      j,
      seq(
        set(gr, rowOf(grad, get(j))),
        set(s, i32.load(addr(slot, get(j), 4))),
        when(
          get(s),
          seq(
            set(p, get(gr)),
            set(q, rowOf(dense, i32.sub(get(s), i32.c(1)))),
            rowLoop(rowBytes, 2, [p, q], end, (g) => v4.store(get(p), madd(get(cv), v4.load(get(q), 16 * g), v4.load(get(p), 16 * g)), 16 * g)),
          ),
          seq(
            set(w, rowOf(wt, get(j))),
            set(e, i32.load(addr(colPtr, get(j), 4))),
            set(e1, i32.load(addr(colPtr, get(j), 4), 4)),
            whileLoop(i32.leS(i32.add(get(e), i32.c(B)), get(e1)), entries(B)),
            whileLoop(i32.ltS(get(e), get(e1)), entries(1)),
          ),
        ),
      ),
    ),
  );
  return { fn, body };
}

/**
 * adam(wt, next, grad, m, v, touched, ratio1, coef1, ratio2, kappa, eps): the Adam step of every row
 * in the stored form of trainGraph.ts (m holds lr·m̂, v holds v̂):
 *   gs = coef1·∇,  m ← ratio1·m + gs,  v ← ratio2·v + kappa·gs²,  Wᵀ ← Wᵀ − m/(√v + ε).
 * Rows with touched[j] = 0 (u8) have ∇ = 0 and their grad row is not read; touched rows' grad is reset to 0.
 */
function adamKernel({ dp, L }: KernelSizes) {
  const fn = new FnBuilder('adam', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32', 'f32', 'f32', 'f32', 'f32']);
  const [wt, next, grad, m, v, touched, ratio1, coef1, ratio2, kappa, eps] = fn.params;
  const j = fn.local('i32');
  const i = fn.local('i32');
  const off = fn.local('i32');
  const end = fn.local('i32');
  const [r1, c1, r2, kp, ep, gs, mm, vv] = Array.from({ length: 8 }, () => fn.local('v128'));
  const rowBytes = 4 * dp;
  const step = (withGrad: boolean) =>
    forRange(
      i,
      get(off),
      get(end),
      16,
      seq(
        withGrad ? seq(set(gs, v4.mul(get(c1), v4.load(i32.add(get(grad), get(i))))), v4.store(i32.add(get(grad), get(i)), v4.zero())) : [],
        set(mm, v4.mul(get(r1), v4.load(i32.add(get(m), get(i))))),
        set(vv, v4.mul(get(r2), v4.load(i32.add(get(v), get(i))))),
        withGrad ? seq(set(mm, v4.add(get(mm), get(gs))), set(vv, v4.add(get(vv), v4.mul(get(kp), v4.mul(get(gs), get(gs)))))) : [],
        v4.store(i32.add(get(m), get(i)), get(mm)),
        v4.store(i32.add(get(v), get(i)), get(vv)),
        v4.store(i32.add(get(wt), get(i)), v4.sub(v4.load(i32.add(get(wt), get(i))), v4.div(get(mm), v4.add(v4.sqrt(get(vv)), get(ep))))),
      ),
    );
  const body = seq(
    set(r1, v4.splat(get(ratio1))),
    set(c1, v4.splat(get(coef1))),
    set(r2, v4.splat(get(ratio2))),
    set(kp, v4.splat(get(kappa))),
    set(ep, v4.splat(get(eps))),
    sharedBlocks(
      fn,
      next,
      i32.c(L),
      ADAM_BLOCK,
      j,
      seq(
        set(off, i32.mul(get(j), i32.c(rowBytes))),
        set(end, i32.add(get(off), i32.c(rowBytes))),
        when(i32.load8(i32.add(get(touched), get(j))), step(true), step(false)),
      ),
    ),
  );
  return { fn, body };
}

export const KERNEL_NAMES = ['select', 'gather', 'decode', 'columnsCount', 'columnsPlace', 'densify', 'sparseOnly', 'backward', 'adam'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/** The kernels' module for one SAE shape. */
export function buildKernels(sizes: KernelSizes): Uint8Array<ArrayBuffer> {
  if (sizes.dp % 32 !== 0) throw new Error(`padded width ${sizes.dp} is not a multiple of 32`);
  return buildModule([selectKernel(sizes), gatherKernel(sizes), decodeKernel(sizes), columnsCountKernel(sizes), columnsPlaceKernel(), densifyKernel(), sparseOnlyKernel(), backwardKernel(sizes), adamKernel(sizes)], MAX_PAGES);
}

