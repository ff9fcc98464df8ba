/**
 * The worker process (dist/worker.js): forked by the extension host, it runs training jobs off the
 * host's thread (training on a document or a corpus, or applying an SAE of the field) and keeps models, ONNX sessions and run codes cached between jobs. Started as
 * `worker.js <parent pid>`; exits when the parent goes away. The host stops it when idle.
 */
import { ResponseError } from 'vscode-jsonrpc';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { cancelledAs, isCancelled, isUserError } from '../core/errors';
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
  USER_ERROR_RPC_CODE,
  type JobErrorData,
  type ProgressEvent,
} from '../shared/protocol';
import { latentActivations, reanalyzeRun, runApplyJob, runCorpusJob, runEvidenceJob, runLatentEvidenceJob, runScanJob, runStabilityJob, runTrainJob } from './jobs';
import { watchParent } from './parentWatch';
import { throttled } from './throttle';

const INTERNAL_ERROR = -32603;
/**
 * Shortest interval between two progress messages of a job (throttle.ts). Each one repaints the
 * status bar and the notification on the cores training needs: at 200 ms the editor's renderer took
 * 0.8 CPU-s more per sample-document run than at 500 ms, and the run was 0.5–1 s slower.
 */
const PROGRESS_MS = 500;

function toResponseError(e: unknown): ResponseError<JobErrorData> {
  if (isCancelled(e)) return new ResponseError(CANCELLED_RPC_CODE, e.message, { code: e.code, user: true });
  if (isUserError(e)) return new ResponseError(USER_ERROR_RPC_CODE, e.message, { code: e.code, user: true });
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  return new ResponseError(INTERNAL_ERROR, e instanceof Error ? e.message : String(e), { code: 'E_INTERNAL', user: false });
}

/** Runs a handler and turns whatever it throws into the protocol's error response. */
async function answer<R>(work: () => Promise<R> | R): Promise<R> {
  try {
    return await work();
  } catch (e) {
    throw toResponseError(e);
  }
}

function main(): void {
  const parentPid = Number(process.argv[2] ?? process.env[PARENT_PID_ENV]);
  if (!process.send || !Number.isInteger(parentPid) || parentPid <= 0) {
    console.error('latent-lens worker: start me from the Latent Lens extension (child_process.fork with an IPC channel and the parent pid as argument).');
    process.exit(2);
  }
  watchParent(parentPid, (why) => {
    console.error(`latent-lens worker: exiting, ${why}`);
    process.exit(0);
  });
  process.on('unhandledRejection', (e) => console.error('latent-lens worker: unhandled rejection:', e));

  const conn = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
  const running = new Map<string, AbortController>();

  /** A request that is a job: cancellable by its id, with throttled progress. */
  const job = <J extends { jobId: string }, R>(run: (job: J, signal: AbortSignal, progress: (p: ProgressEvent) => void) => Promise<R>) => (params: J) =>
    answer(async () => {
      const abort = new AbortController();
      running.set(params.jobId, abort);
      const progress = throttled((p) => void conn.sendNotification(ProgressNotification, p).catch(() => undefined), PROGRESS_MS);
      try {
        return await cancelledAs(abort.signal, 'job', () => run(params, abort.signal, progress.send));
      } finally {
        progress.end();
        running.delete(params.jobId);
      }
    });
  conn.onRequest(TrainRequest, job(runTrainJob));
  conn.onRequest(ApplyRequest, job(runApplyJob));
  conn.onRequest(CorpusTrainRequest, job(runCorpusJob));
  conn.onRequest(EvidenceRequest, job(runEvidenceJob));
  conn.onRequest(LatentEvidenceRequest, job(runLatentEvidenceJob));
  conn.onRequest(StabilityRequest, job(runStabilityJob));
  conn.onRequest(ScanRequest, job(runScanJob));
  conn.onNotification(CancelNotification, ({ jobId }) => running.get(jobId)?.abort());
  conn.onRequest(ReanalyzeRequest, (job) => answer(() => reanalyzeRun(job)));
  conn.onRequest(ActivationsRequest, (q) => answer(() => latentActivations(q)));
  conn.listen();
}

main();
