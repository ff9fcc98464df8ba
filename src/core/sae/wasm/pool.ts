import { Worker } from 'node:worker_threads';
import { KERNEL_NAMES, type KernelName } from './kernels';

/**
 * Runs the kernels on several threads over one shared WebAssembly memory: this thread plus
 * `threads − 1` worker threads, each with its own instance of the module. A call gives one argument
 * list per part; part 0 runs here, part p on worker p − 1, and the call returns when all are done.
 * Hand-off is a sequence number per worker in a shared Int32Array (Atomics.wait/notify), so a call
 * costs microseconds, not a message round trip.
 */
const MAX_ARGS = 20;
const SLOT = 4; // ints per worker: [sequence, done, kernel index (−1: stop), argument count]

// The worker's whole program (run with eval, so the bundle needs no extra entry file).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, args, slot, names } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const kernels = names.map((n) => exports[n]);
const ctl = new Int32Array(control);
const arg = new Float64Array(args, slot * ${MAX_ARGS} * 8, ${MAX_ARGS});
const at = slot * ${SLOT};
let seen = 0;
for (;;) {
  Atomics.wait(ctl, at, seen);
  seen = Atomics.load(ctl, at);
  const k = ctl[at + 2];
  if (k < 0) break;
  try {
    kernels[k](...arg.subarray(0, ctl[at + 3]));
  } catch (e) {
    ctl[at + 2] = -2;
  }
  Atomics.store(ctl, at + 1, seen);
  Atomics.notify(ctl, at + 1);
}
`;

export class KernelPool {
  private readonly control: Int32Array;
  private readonly args: Float64Array;
  private readonly local: Record<KernelName, (...a: number[]) => void>;

  private constructor(
    module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    private readonly workers: Worker[],
    control: SharedArrayBuffer,
    args: SharedArrayBuffer,
  ) {
    this.control = new Int32Array(control);
    this.args = new Float64Array(args);
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    this.local = Object.fromEntries(KERNEL_NAMES.map((n) => [n, exports[n]])) as KernelPool['local'];
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number): Promise<KernelPool> {
    const control = new SharedArrayBuffer(4 * SLOT * Math.max(1, threads - 1));
    const args = new SharedArrayBuffer(8 * MAX_ARGS * Math.max(1, threads - 1));
    const workers = await Promise.all(
      Array.from({ length: threads - 1 }, (_, slot) => {
        const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control, args, slot, names: [...KERNEL_NAMES] } });
        return new Promise<Worker>((resolve, reject) => {
          w.once('online', () => {
            w.unref(); // an engine that is never disposed must not keep the process alive
            resolve(w);
          });
          w.once('error', reject);
        });
      }),
    );
    return new KernelPool(module, memory, workers, control, args);
  }

  /** Runs `name` once per argument list (at most `threads` of them), in parallel. */
  run(name: KernelName, parts: number[][]): void {
    if (parts.length > this.threads) throw new Error(`${parts.length} parts for ${this.threads} threads`);
    const k = KERNEL_NAMES.indexOf(name);
    const started: number[] = [];
    for (let p = 1; p < parts.length; p++) {
      const at = (p - 1) * SLOT;
      this.args.set(parts[p], (p - 1) * MAX_ARGS);
      this.control[at + 2] = k;
      this.control[at + 3] = parts[p].length;
      started.push(Atomics.add(this.control, at, 1) + 1);
      Atomics.notify(this.control, at);
    }
    if (parts.length > 0) this.local[name](...parts[0]);
    let failed = false;
    started.forEach((sequence, w) => {
      const at = w * SLOT;
      for (let done = Atomics.load(this.control, at + 1); done !== sequence; done = Atomics.load(this.control, at + 1)) Atomics.wait(this.control, at + 1, done);
      if (this.control[at + 2] === -2) failed = true;
    });
    if (failed) throw new Error(`the ${name} kernel failed on a worker thread (out-of-bounds memory access)`);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
