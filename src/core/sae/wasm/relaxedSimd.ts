import * as v8 from 'node:v8';
import { buildModule, drop, FnBuilder, get, v4 } from './emit';

/**
 * Whether this runtime's WebAssembly has relaxed SIMD's f32x4.relaxed_madd (fused multiply-add where
 * the CPU has FMA). V8 ships it from 11.4 (Node 22, VS Code's Electron); Node 20's V8 11.3 has it
 * behind --experimental-wasm-relaxed-simd, a flag V8 reads when it validates a module, so turning
 * it on here, before the kernels are compiled, is enough. Checked by validating a one-instruction
 * module; false where neither works, and the kernels then multiply and add separately.
 */
let known: boolean | undefined;

export function relaxedSimd(): boolean {
  if (known === undefined) {
    const fn = new FnBuilder('madd', ['v128', 'v128', 'v128']);
    const [a, b, c] = fn.params;
    const probe = buildModule([{ fn, body: drop(v4.relaxedMadd(get(a), get(b), get(c))) }], 1);
    known = WebAssembly.validate(probe);
    if (!known) {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      known = WebAssembly.validate(probe);
    }
  }
  return known;
}
