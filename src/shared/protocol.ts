/**
 * Every message that crosses a process or frame boundary, in one place.
 *
 * Host ↔ worker: JSON-RPC (vscode-jsonrpc 8) over the child process's IPC channel. Jobs — `train`
 * (or `apply`: encode with an SAE of the field, no training; or `scan`: one run per layer), then `evidence` (the causal evidence
 * of the run just shown), `latentEvidence` (one more latent's), `stability` (more seeds) — carry a
 * jobId: while one runs the worker sends `progress` notifications, and `cancel` stops it by id (the
 * worker aborts between steps). A job answers with its result or a JobError. `reanalyze` recomputes
 * a run's analysis for another concept lexicon without retraining; `activations` reads one latent's
 * value on every token of a run (the "highlight latent N" heatmap).
 *
 * Host ↔ webview (the latent browser): postMessage with the discriminated unions at the end.
 */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { StabilityReport } from '../core/analysis/stability';
import type { AnalysisReport } from '../core/analysis/types';
import type { LatentEvidence } from '../core/evidence/types';
import type { ErrorCode } from '../core/errors';
import type { CorpusLimits } from '../core/corpus/scan';
import type { RunCfg, RunFile, RunMetrics, RunTokens } from '../core/run/format';
import type { SaeConfig } from '../core/sae/config';
import type { SaeRequest } from '../core/sae/source';
import type { ScanJson } from '../core/scan/format';
import type { LayerView } from './scanView';

// ---------------------------------------------------------------- host ↔ worker

/** The built-in lexicons of the geography concept, or a word-list file (one entry per line). */
export type LexiconChoice = { kind: 'gazetteer' } | { kind: 'course' } | { kind: 'file'; path: string };

export interface AnalysisSettings {
  lexicon: LexiconChoice;
  /** A latent is punctuation-firing when this share of its activation mass lies on punctuation/whitespace tokens. */
  punctuationShare: number;
  /** A concept-selective latent is flagged as a proxy when its punctuation or stopword share exceeds this. */
  proxyShare: number;
}

/** What one run needs besides the text; built from the settings by the host. */
export interface JobSettings {
  sae: SaeConfig;
  engine: 'auto' | 'ort' | 'tfjs';
  /** A GPT-2 model directory; undefined downloads GPT-2 Small into the model cache. */
  modelDir?: string;
  /**
   * Without `modelDir`, when GPT-2 Small cannot be downloaded: use the random-weights stand-in
   * (fallback.ts randomStandIn, the CLI's) instead of failing. The user chose it for this window.
   */
  standIn?: boolean;
  analysis: AnalysisSettings;
  /** A run with more tokens is refused before extraction (setting latentLens.maxTokens). */
  maxTokens: number;
  /** Intra-op threads; undefined lets the engine choose. */
  threads?: number;
}

export interface TrainJob {
  jobId: string;
  /** The text to run on: the whole document or the selection. */
  text: string;
  /** The document's URI as a string (tokens.json's `source`). */
  source: string;
  /** What the text is, for messages: e.g. "notes.md" or "The selection in notes.md". */
  label: string;
  /** Offset of `text` in the document (non-zero for a selection). */
  offset: number;
  /** Where the run directory goes; it must not exist yet. */
  out: string;
  settings: JobSettings;
}

/** Apply an SAE (a release, hub folder, SAE folder or earlier run) to the text instead of training one. */
export interface ApplyJob extends TrainJob {
  sae: SaeRequest;
}

/** Scan the text's layers: one run per layer in a scan directory (src/core/scan/), resumable. */
export interface ScanJob extends TrainJob {
  /** The scan directory; a scan of the same text and settings in it is resumed (its finished layers kept). */
  out: string;
  /** "all", "0,3,6", "2-8". */
  layers: string;
  /** blocks.{L}.<hook>; undefined: the settings' hook kind. */
  hookTemplate?: string;
  /** Apply this release's per-layer SAEs instead of training (settings.sae is then unused). */
  release?: string;
}

/** A finished scan: scan.json; each done layer's run is `scanDir/<row.dir>` (loadRunView reads it). */
export interface ScanView {
  scanDir: string;
  scan: ScanJson;
  /** Layers made (trained or applied), re-analysed and kept in this job. */
  made: number[];
  reanalysed: number[];
  kept: number[];
}

/** Train one SAE on a corpus: files, folders and globs, listed as `latent-lens train DIR|FILE|GLOB...` lists them (corpus/list.ts). */
export interface CorpusJob {
  jobId: string;
  /** Absolute paths of files and folders, or globs. */
  inputs: string[];
  /** Globs over the paths below each folder: a file is kept when one of `include` matches (none: every file), dropped when one of `exclude` matches it or a folder above it. */
  include: string[];
  exclude: string[];
  /** What messages call the include and exclude globs (the settings they come from). */
  globNames: { include: string; exclude: string };
  /** The corpus's token cap and file size limit, each with the setting that sets it. */
  limits: CorpusLimits;
  /** What the corpus is, for messages: e.g. "the workspace folder notes". */
  label: string;
  /** Where the run directory goes; it must not exist yet. */
  out: string;
  /** settings.sae is the corpus's SaeConfig (sae/config.ts corpusDefaults under the settings); settings.maxTokens does not apply (limits.maxTokens does). */
  settings: JobSettings;
}

/** A run as the editor shows it: the run directory's JSON files. */
export interface RunView {
  runDir: string;
  tokens: RunTokens;
  cfg: RunCfg;
  metrics: RunMetrics;
  analysis: AnalysisReport;
  /** Set when the view shows one file of a corpus run (shared/corpusView.ts): tokens and per-token top latents are the run's rows of that file. */
  corpusFile?: CorpusFileOfRun;
}

/** Which file of which corpus run a view shows. */
export interface CorpusFileOfRun extends RunFile {
  /** The corpus's root folder (tokens.json source) and its number of files. */
  root: string;
  files: number;
}

/**
 * load: reading a model from disk; download: fetching it from the hub; standIn: generating the
 * random-weights stand-in; scan: reading a corpus's files; encode: applying an SAE instead of training.
 */
export type Phase = 'load' | 'download' | 'standIn' | 'scan' | 'tokenize' | 'extract' | 'train' | 'encode' | 'write' | 'analyze' | 'evidence' | 'stability';

/** What `done` and `total` count in each phase that counts. */
export type ProgressUnit = 'byte' | 'file' | 'token' | 'epoch' | 'forward' | 'seed';

export interface ProgressEvent {
  jobId: string;
  phase: Phase;
  /** What is being done, for people, without the counts below: e.g. "training 6144 latents on 247 tokens". */
  message: string;
  /** Units of the phase done so far and in all, when the phase counts them. */
  done?: number;
  total?: number;
  unit?: ProgressUnit;
  /** Phase 'train': the latest epoch's loss. */
  loss?: number;
  /** Time left in the phase, from the units measured so far (eta.ts); absent until it can be estimated. */
  etaMs?: number;
  /** A layer scan's: the layer worked on, its place among the layers to do, and the scan's time left when known. */
  layerScan?: { layer: number; index: number; count: number; etaMs?: number };
}

export type JobErrorCode = ErrorCode | 'E_INTERNAL';

/** Data of every error response: `user` errors carry a message to show as it is (UserError); others are bugs. */
export interface JobErrorData {
  /** E_INTERNAL for a bug in the worker. */
  code: JobErrorCode;
  user: boolean;
}

export interface ReanalyzeJob {
  runDir: string;
  analysis: AnalysisSettings;
}

/** The causal evidence of a run's current analysis (the top latents of its lists), added to its analysis.json. */
export interface EvidenceJob {
  jobId: string;
  runDir: string;
  threads?: number;
}

/** The causal evidence of one latent of a run, on demand (not written to the run). */
export interface LatentEvidenceJob extends EvidenceJob {
  latent: number;
}

/** Seed stability of a run: `seeds − 1` more SAEs trained like it on the same activations (its seed is the first). */
export interface StabilityJob {
  jobId: string;
  runDir: string;
  seeds: number;
  analysis: AnalysisSettings;
  engine: JobSettings['engine'];
  threads?: number;
}

export interface ActivationsQuery {
  runDir: string;
  latent: number;
  /** Only these tokens of the run, [first, first + tokens) (the file a corpus run's view shows); default all. */
  range?: { first: number; tokens: number };
}

export const TrainRequest = new RequestType<TrainJob, RunView, JobErrorData>('latentLens/train');
export const ApplyRequest = new RequestType<ApplyJob, RunView, JobErrorData>('latentLens/apply');
export const ScanRequest = new RequestType<ScanJob, ScanView, JobErrorData>('latentLens/scan');
/** The result's tokens hold the corpus's files (path, sha256, token range) and the files skipped, with why. */
export const CorpusTrainRequest = new RequestType<CorpusJob, RunView, JobErrorData>('latentLens/trainCorpus');
export const ReanalyzeRequest = new RequestType<ReanalyzeJob, AnalysisReport, JobErrorData>('latentLens/reanalyze');
/** The run's analysis with its `evidence` (or why there is none), as written to analysis.json. */
export const EvidenceRequest = new RequestType<EvidenceJob, AnalysisReport, JobErrorData>('latentLens/evidence');
export const LatentEvidenceRequest = new RequestType<LatentEvidenceJob, LatentEvidence, JobErrorData>('latentLens/latentEvidence');
export const StabilityRequest = new RequestType<StabilityJob, StabilityReport, JobErrorData>('latentLens/stability');
/** Activation of the latent on every token of the run, [T] (or of the range, [range.tokens]; 0 where it does not fire). */
export const ActivationsRequest = new RequestType<ActivationsQuery, number[], JobErrorData>('latentLens/activations');
export const ProgressNotification = new NotificationType<ProgressEvent>('latentLens/progress');
export const CancelNotification = new NotificationType<{ jobId: string }>('latentLens/cancel');

/** JSON-RPC error code of a cancelled job (the LSP's RequestCancelled). */
export const CANCELLED_RPC_CODE = -32800;
/** JSON-RPC error code of a UserError; others use InternalError (-32603). */
export const USER_ERROR_RPC_CODE = -32001;

/** The worker's command line: `worker.js <parent pid>`. The same pid is in this environment variable. */
export const PARENT_PID_ENV = 'LATENT_LENS_PARENT_PID';

// ---------------------------------------------------------------- host ↔ latent browser webview

/** Everything the latent browser shows; pushed whole on every change, so a re-shown view can rebuild itself. */
export interface BrowserState {
  /** The document the panel follows (the active editor's), when it has a run. */
  doc?: { uri: string; name: string; stale: boolean };
  run?: RunView;
  /** The latent highlighted in the editor, if any. */
  highlighted: number | null;
  lexicon: LexiconChoice;
  /** Notices to show above the lists (random weights, restricted mode). */
  notices: string[];
  /** Work going on for the followed run, each as its latest progress line; null when not running. */
  work: RunWork;
  /** The followed run's last seed-stability check. */
  stability?: StabilityReport;
  /** When the followed run is a layer of a scan: the layer view (the followed run's layer is `current`). */
  scan?: LayerView;
}

export interface RunWork {
  /** The causal evidence of the run's lists, computed after the tints are shown (and after a re-analysis). */
  evidence: string | null;
  /** One latent's causal evidence, asked for in its detail. */
  latentEvidence: { latent: number; line: string } | null;
  /** "Check stability": more seeds trained in the worker. */
  stability: string | null;
}

export type WebviewToHost =
  /** The webview has loaded its script; only then does the host post. */
  | { type: 'ready' }
  /** The user picked a latent: the host answers with `latentDetail` and highlights it in the editor. */
  | { type: 'selectLatent'; latent: number }
  /** Turn the editor's heatmap of one latent on, or off (null) back to the per-token tints. */
  | { type: 'highlightLatent'; latent: number | null }
  /** Re-run the analysis of the current run with another lexicon, without retraining. */
  | { type: 'changeLexicon'; lexicon: LexiconChoice }
  /** Re-run the analysis with a word list typed in the panel (one term per line). */
  | { type: 'customLexicon'; terms: string }
  /** Only the latent's heatmap (`latentDetail`), without highlighting it: a re-created view restoring its selection. */
  | { type: 'loadDetail'; latent: number }
  /** The empty state's button: "Train SAE on this file" on the active editor. */
  | { type: 'train' }
  /** Compute the causal evidence of a latent the run's evidence does not cover. */
  | { type: 'latentEvidence'; latent: number }
  /** Train more seeds and compare (seed stability). */
  | { type: 'checkStability' }
  /** Stop background work on the followed run. */
  | { type: 'cancelWork'; work: keyof RunWork }
  /** Show that layer's run of the followed run's scan: tints, hover and lists switch to it. */
  | { type: 'showLayer'; layer: number };

export type HostToWebview =
  | { type: 'state'; state: BrowserState }
  /** Select and scroll to a latent (from the hover's "Show in Latent Browser"). */
  | { type: 'revealLatent'; latent: number }
  /** The latent's activation on every token of the run, [T], for its text heatmap. */
  | { type: 'latentDetail'; latent: number; activations: number[] }
  | { type: 'error'; message: string }
  /** A re-analysis started (what it does, for a progress line) or ended (null). */
  | { type: 'busy'; message: string | null };
