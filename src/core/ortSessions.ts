import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from './errors';

export type ProviderRequest = 'auto' | 'cpu' | 'cuda';
export type Provider = 'cpu' | 'cuda';

/** How a session's device is reported: "cuda:0", or "cpu (2 threads)" / "cpu (onnxruntime's default threads)". */
export function deviceText(provider: Provider, threads: number | undefined): string {
  if (provider === 'cuda') return 'cuda:0';
  return `cpu (${threads === undefined ? "onnxruntime's default threads" : `${threads} thread${threads === 1 ? '' : 's'}`})`;
}

/** Whether onnxruntime-node's CUDA provider library sits beside its binding (it is fetched at install time only on request). */
export function cudaProviderInstalled(): boolean {
  const bin = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return fs.existsSync(path.join(bin, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
}

/**
 * Opens one session per model on the requested execution provider. `auto` tries CUDA when its
 * library is installed and falls back to the CPU quietly; `cuda` insists and says how to get it.
 * Used by the GPT-2 extraction and the SAE trainer alike.
 */
export async function openSessions(models: Uint8Array[], request: ProviderRequest, options: ort.InferenceSession.SessionOptions): Promise<{ sessions: ort.InferenceSession[]; provider: Provider }> {
  const open = (providers: string[]) => Promise.all(models.map((m) => ort.InferenceSession.create(m, { ...options, executionProviders: providers })));
  if (request === 'cuda' || (request === 'auto' && cudaProviderInstalled())) {
    try {
      return { sessions: await open(['cuda', 'cpu']), provider: 'cuda' };
    } catch (e) {
      if (request === 'cuda') {
        throw new UserError(
          `the CUDA execution provider could not start (${(e as Error).message.split('\n')[0]}). It needs an NVIDIA GPU, CUDA 12 and its CUDA provider fetched once with "cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js" (README, "GPU"); otherwise use the CPU.`,
          'E_PROVIDER',
        );
      }
    }
  }
  return { sessions: await open(['cpu']), provider: 'cpu' };
}
