import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { openSessions, type Provider, type ProviderRequest } from '../ortSessions';
import type { Gpt2Graph } from './gpt2Graph';
import type { Gpt2Model } from './load';

export interface Gpt2Session {
  session: ort.InferenceSession;
  provider: Provider;
}

export interface SessionOptions {
  /** onnxruntime intra-op threads; default: onnxruntime's choice (one per physical core). */
  threads?: number;
  /** 'auto' (default) uses CUDA when its provider library is installed and works, else the CPU. */
  provider?: ProviderRequest;
}

/** Sessions per (weights file, graph, threads, provider request), for the life of the process. */
const sessions = new Map<string, Promise<Gpt2Session>>();

async function create(graph: Gpt2Graph, o: SessionOptions): Promise<Gpt2Session> {
  const { sessions: [session], provider } = await openSessions([graph.bytes], o.provider ?? 'auto', {
    ...(o.threads === undefined ? {} : { intraOpNumThreads: o.threads }),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Shapes change from document to document and from batch to batch; a memory pattern planned
    // for one shape only costs a fresh allocation (page faults) the next time.
    enableMemPattern: false,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    // Prepacking the MatMul/Gemm weights costs 1.2–1.9 s per session of GPT-2 Small and saves only
    // 4–6 % of a run's CPU time at 220–1024 tokens (measured single-threaded): with that many rows,
    // packing the weights on the fly is a small part of each product.
    extra: { session: { model_external_initializers_file_folder_path: graph.weightsDir, disable_prepacking: '1' } },
  });
  return { session, provider };
}

/**
 * A session of a graph over `model`'s weights, built by `build` the first time `graphKey` (which
 * must name everything the graph depends on besides the weights file) is asked for with these
 * options; a changed weights file (size or mtime) gets a new session.
 */
export function gpt2Session(model: Gpt2Model, graphKey: string, build: () => Gpt2Graph, o: SessionOptions): Promise<Gpt2Session> {
  const st = fs.statSync(model.weightsPath);
  const key = JSON.stringify([path.resolve(model.weightsPath), st.size, st.mtimeMs, graphKey, o.threads ?? null, o.provider ?? 'auto']);
  let loaded = sessions.get(key);
  if (!loaded) {
    loaded = create(build(), o);
    sessions.set(key, loaded);
    loaded.catch(() => sessions.delete(key));
  }
  return loaded;
}

/**
 * Releases every cached session (their weights and arenas: about 0.5 GB for GPT-2 Small's first
 * seven layers). For a process that runs one job, once its forward passes are done; the worker keeps
 * its sessions for the next job.
 */
export async function releaseGpt2Sessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  await Promise.all(all.map((s) => s.then((g) => g.session.release(), () => undefined)));
}
