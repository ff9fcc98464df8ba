/**
 * The extension host's side of the worker: forks dist/worker.js on demand, keeps it warm between
 * runs, stops it after an idle timeout, runs one job per key (document) at a time, and turns every
 * way a job can end into a resolved value or a JobFailure. Free of `vscode` so tests drive it with a
 * real forked worker.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as readline from 'node:readline';
import { ResponseError, type MessageConnection, type RequestType } from 'vscode-jsonrpc';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import {
  ActivationsRequest,
  ApplyRequest,
  CancelNotification,
  CANCELLED_RPC_CODE,
  CorpusTrainRequest,
  EvidenceRequest,
  LatentEvidenceRequest,
  PARENT_PID_ENV,
  ProgressNotification,
  ReanalyzeRequest,
  ScanRequest,
  StabilityRequest,
  TrainRequest,
  type ActivationsQuery,
  type ApplyJob,
  type CorpusJob,
  type EvidenceJob,
  type JobErrorCode,
  type JobErrorData,
  type LatentEvidenceJob,
  type ProgressEvent,
  type ReanalyzeJob,
  type RunView,
  type ScanJob,
  type ScanView,
  type StabilityJob,
  type TrainJob,
} from '../../shared/protocol';
import type { StabilityReport } from '../../core/analysis/stability';
import type { AnalysisReport } from '../../core/analysis/types';
import type { LatentEvidence } from '../../core/evidence/types';
import { describeExit, type ExitInfo } from './exit';

export interface Log {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * user: bad input or settings, the message says what to do; cancelled: the job was cancelled (show
 * nothing, or a quiet note); crash: the worker died; internal: a bug, details in the log.
 */
export type FailureKind = 'user' | 'cancelled' | 'crash' | 'internal';

/** A job's error codes, plus the host's own: the connection broke, the worker exited or was stopped. */
export type FailureCode = JobErrorCode | 'E_WORKER' | 'E_WORKER_EXIT' | 'E_WORKER_STOPPED';

export class JobFailure extends Error {
  override name = 'JobFailure';
  constructor(
    message: string,
    readonly kind: FailureKind,
    readonly code: FailureCode,
  ) {
    super(message);
  }
}

export interface WorkerClientOptions {
  /** dist/worker.js (or the .ts source with a loader in execArgv). */
  workerPath: string;
  /** Node flags of the worker; [] in the product so the extension host's own flags (e.g. --inspect) do not leak in. */
  execArgv?: string[];
  /** Read at the end of every job: the worker stops after this long without work (0: right away). */
  idleTimeoutMs: () => number;
  log: Log;
  /** How long a cancelled job may take to stop before the worker is killed (default CANCEL_GRACE_MS). */
  cancelGraceMs?: number;
}

export interface StartedJob<R = RunView> {
  jobId: string;
  /** True when this call cancelled a job of the same key. */
  replaced: boolean;
  done: Promise<R>;
}

/**
 * A cancel is checked between steps; loading a model, opening a session or one forward pass over a
 * window of GPT-2 Small cannot be interrupted and takes up to about a second on a laptop CPU.
 */
export const CANCEL_GRACE_MS = 2000;

const STDERR_TAIL_LINES = 40;
const KILL_AFTER_MS = 300;

interface Worker {
  child: ChildProcess;
  conn: MessageConnection;
  stderr: string[];
  exit?: ExitInfo;
  exited: Promise<ExitInfo>;
  /** Set when the host stops it on purpose (cancel, idle, dispose): its pending calls end as cancelled. */
  stopping: boolean;
  /** Reject functions of its outstanding requests. */
  pending: Set<(f: JobFailure) => void>;
}

interface Job {
  id: string;
  key: string;
  worker: Worker;
  cancelled: boolean;
  onProgress: (p: ProgressEvent) => void;
  /** Resolves when the job has ended, however it ended. */
  ended: Promise<void>;
}

/** Resolves true when `p` settles within `ms`, else false. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class WorkerClient {
  private worker?: Worker;
  private readonly jobs = new Map<string, Job>();
  private readonly byKey = new Map<string, string>();
  private busy = 0;
  private idleTimer?: NodeJS.Timeout;
  private disposed = false;

  constructor(private readonly opts: WorkerClientOptions) {}

  /** The running worker's pid, if one is running. */
  get pid(): number | undefined {
    return this.worker && !this.worker.exit ? this.worker.child.pid : undefined;
  }

  /** Starts a training job; a job already running under `key` is cancelled first. */
  train(key: string, job: Omit<TrainJob, 'jobId'>, onProgress: (p: ProgressEvent) => void): Promise<StartedJob> {
    return this.start(key, TrainRequest, job, onProgress);
  }

  /** The causal evidence of a run's lists, added to its analysis.json; like `train`, one job per key. */
  evidence(key: string, job: Omit<EvidenceJob, 'jobId'>, onProgress: (p: ProgressEvent) => void): Promise<StartedJob<AnalysisReport>> {
    return this.start(key, EvidenceRequest, job, onProgress);
  }

  /** One latent's causal evidence. */
  latentEvidence(key: string, job: Omit<LatentEvidenceJob, 'jobId'>, onProgress: (p: ProgressEvent) => void): Promise<StartedJob<LatentEvidence>> {
    return this.start(key, LatentEvidenceRequest, job, onProgress);
  }

  /** Seed stability: more SAEs trained like the run's. */
  stability(key: string, job: Omit<StabilityJob, 'jobId'>, onProgress: (p: ProgressEvent) => void): Promise<StartedJob<StabilityReport>> {
    return this.start(key, StabilityRequest, job, onProgress);
  }

  /** A layer scan: one run per layer in the job's scan directory (resumed when it holds the same scan); like `train`, one job per key. */
  scan(key: string, job: Omit<ScanJob, 'jobId'>, onProgress: (p: ProgressEvent) => void): Promise<StartedJob<ScanView>> {
    return this.start(key, ScanRequest, job, onProgress);
  }

  /** Starts applying an SAE, like `train`. */
  apply(key: string, job: Omit<ApplyJob, 'jobId'>, onProgress: (p: ProgressEvent) => void): Promise<StartedJob> {
    return this.start(key, ApplyRequest, job, onProgress);
  }

  /** Starts training on a corpus, like `train` (`key`: the corpus's folder). */
  trainCorpus(key: string, job: Omit<CorpusJob, 'jobId'>, onProgress: (p: ProgressEvent) => void): Promise<StartedJob> {
    return this.start(key, CorpusTrainRequest, job, onProgress);
  }

  private async start<J extends { jobId: string }, R>(key: string, type: RequestType<J, R, JobErrorData>, params: Omit<J, 'jobId'>, onProgress: (p: ProgressEvent) => void): Promise<StartedJob<R>> {
    const previous = this.byKey.get(key);
    if (previous) await this.cancel(previous, { keepWorker: true });
    const jobId = randomUUID();
    const worker = this.ensureWorker();
    let finish!: () => void;
    const entry: Job = { id: jobId, key, worker, cancelled: false, onProgress, ended: new Promise<void>((r) => (finish = r)) };
    this.jobs.set(jobId, entry);
    this.byKey.set(key, jobId);
    const end = () => {
      this.jobs.delete(jobId);
      if (this.byKey.get(key) === jobId) this.byKey.delete(key);
      finish();
    };
    const done = this.request(worker, type, { ...params, jobId } as J, () => entry.cancelled).then(
      (result) => {
        end();
        if (entry.cancelled) throw new JobFailure('Cancelled.', 'cancelled', 'E_CANCELLED');
        return result;
      },
      (e: unknown) => {
        end();
        throw e;
      },
    );
    return { jobId, replaced: previous !== undefined, done };
  }

  /** The id of the job running under `key`, if any. */
  jobFor(key: string): string | undefined {
    return this.byKey.get(key);
  }

  /**
   * Cancels a job: the worker aborts it between steps; if it has not ended within the grace period
   * the worker is killed. Unless `keepWorker`, a worker left without work is stopped too, so a
   * cancel leaves no process behind.
   */
  async cancel(jobId: string, opts: { keepWorker?: boolean } = {}): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job) return;
    job.cancelled = true;
    const { worker } = job;
    worker.conn.sendNotification(CancelNotification, { jobId }).catch(() => undefined);
    const grace = this.opts.cancelGraceMs ?? CANCEL_GRACE_MS;
    if (!(await within(job.ended, grace))) {
      // Still in a step that cannot be interrupted: stopping the worker is how this cancel completes.
      this.opts.log.info(`job ${jobId} was still busy ${grace} ms after its cancel; stopping the worker to end it`);
      await this.stop(worker);
    } else if (!opts.keepWorker && this.busy === 0) {
      await this.stop(worker);
    }
  }

  /** Recomputes a run's analysis (another lexicon or thresholds) without retraining. */
  async reanalyze(job: ReanalyzeJob): Promise<AnalysisReport> {
    return this.request(this.ensureWorker(), ReanalyzeRequest, job, () => false);
  }

  /** One latent's activation on every token of a run. */
  async activations(query: ActivationsQuery): Promise<number[]> {
    return this.request(this.ensureWorker(), ActivationsRequest, query, () => false);
  }

  /** Cancels everything and stops the worker (deactivate). */
  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.idleTimer);
    for (const job of this.jobs.values()) job.cancelled = true;
    if (this.worker) await this.stop(this.worker);
  }

  private request<P, R>(worker: Worker, type: RequestType<P, R, JobErrorData>, params: P, cancelled: () => boolean): Promise<R> {
    this.busy++;
    clearTimeout(this.idleTimer);
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        worker.pending.delete(fail);
        this.busy--;
        finish();
        this.armIdle();
      };
      const fail = (f: JobFailure) => settle(() => reject(cancelled() ? new JobFailure('Cancelled.', 'cancelled', 'E_CANCELLED') : f));
      worker.pending.add(fail);
      worker.conn.sendRequest(type, params).then(
        (r) => settle(() => resolve(r)),
        (e: unknown) => {
          // Already ended by the worker's exit (the connection is disposed after it): nothing to add.
          if (settled) return;
          if (e instanceof ResponseError) fail(this.failureOf(e as ResponseError<JobErrorData>));
          else void this.brokenConnection(worker, e).then(fail);
        },
      );
    });
  }

  /** The connection broke: the process exit, which follows, says why. */
  private async brokenConnection(worker: Worker, e: unknown): Promise<JobFailure> {
    if ((await within(worker.exited, 2000)) && worker.exit) return this.exitFailure(worker, worker.exit);
    return new JobFailure(`Lost the connection to the Latent Lens worker (${String(e)}). Show Log has the details.`, 'internal', 'E_WORKER');
  }

  private failureOf(e: ResponseError<JobErrorData>): JobFailure {
    if (e.code === CANCELLED_RPC_CODE) return new JobFailure(e.message, 'cancelled', 'E_CANCELLED');
    if (e.data?.user) return new JobFailure(e.message, 'user', e.data.code);
    this.opts.log.error(`worker error: ${e.message}`);
    return new JobFailure(`Latent Lens failed: ${e.message}. Show Log has the details.`, 'internal', e.data?.code ?? 'E_INTERNAL');
  }

  /** How a call ends when its worker exits; a call of a cancelled job becomes a cancel in `request`. */
  private exitFailure(worker: Worker, exit: ExitInfo): JobFailure {
    if (worker.stopping) {
      return new JobFailure('The Latent Lens worker was stopped (a cancelled run did not stop in time, or the extension is shutting down), so this run stopped too. Run it again.', 'user', 'E_WORKER_STOPPED');
    }
    return new JobFailure(describeExit(exit), 'crash', 'E_WORKER_EXIT');
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    if (this.busy > 0 || !worker || this.disposed) return;
    this.idleTimer = setTimeout(() => {
      if (this.busy === 0 && this.worker === worker) {
        this.opts.log.info('worker idle: stopping it');
        this.stop(worker).catch((e: unknown) => this.opts.log.error(`stopping the idle worker: ${String(e)}`));
      }
    }, this.opts.idleTimeoutMs());
    this.idleTimer.unref();
  }

  private ensureWorker(): Worker {
    if (this.disposed) throw new JobFailure('Latent Lens is shutting down.', 'cancelled', 'E_CANCELLED');
    if (this.worker && !this.worker.exit && !this.worker.stopping) return this.worker;
    const child = fork(this.opts.workerPath, [String(process.pid)], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', [PARENT_PID_ENV]: String(process.pid) },
      execArgv: this.opts.execArgv ?? [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    let exited!: (e: ExitInfo) => void;
    const worker: Worker = { child, conn, stderr: [], exited: new Promise((r) => (exited = r)), stopping: false, pending: new Set() };
    const log = this.opts.log;
    log.info(`worker started (pid ${child.pid})`);
    readline.createInterface({ input: child.stdout! }).on('line', (l) => log.info(`[worker] ${l}`));
    readline.createInterface({ input: child.stderr! }).on('line', (l) => {
      log.info(`[worker] ${l}`);
      worker.stderr.push(l);
      if (worker.stderr.length > STDERR_TAIL_LINES) worker.stderr.shift();
    });
    conn.onNotification(ProgressNotification, (p) => this.jobs.get(p.jobId)?.onProgress(p));
    conn.onError(([e]) => log.warn(`worker connection: ${e.message}`));
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (worker.exit) return;
      // Let the stderr reader drain the last lines (an OOM report) before they are described.
      setImmediate(() => {
        worker.exit = { code, signal, stderrTail: worker.stderr.join('\n') };
        (worker.stopping ? log.info : log.error).call(log, `worker ${child.pid} exited (code ${code}, signal ${signal})`);
        conn.dispose();
        if (this.worker === worker) this.worker = undefined;
        for (const fail of worker.pending) fail(this.exitFailure(worker, worker.exit));
        exited(worker.exit);
      });
    };
    child.on('exit', onExit);
    child.on('error', (e) => {
      log.error(`worker process: ${e.message}`);
      if (child.exitCode === null && child.signalCode === null && child.pid === undefined) onExit(null, null);
    });
    conn.listen();
    this.worker = worker;
    return worker;
  }

  /** Stops a worker: SIGTERM, then SIGKILL if it is still there shortly after. */
  private async stop(worker: Worker): Promise<void> {
    if (worker.exit) return;
    worker.stopping = true;
    if (this.worker === worker) this.worker = undefined;
    worker.child.kill('SIGTERM');
    if (!(await within(worker.exited, KILL_AFTER_MS))) {
      worker.child.kill('SIGKILL');
      await within(worker.exited, 2000);
    }
  }
}
