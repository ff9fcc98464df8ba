/** What the status-bar item says for the active document. */
import { saeKindText, saeOriginText } from '../../core/run/describe';
import { legendLines } from '../../shared/legend';
import type { RunView } from '../../shared/protocol';
import { COMMANDS, type CommandId } from '../commands/ids';

export interface StatusInput {
  /** A run is going on for the document: its latest progress line. */
  running?: string;
  run?: RunView;
  stale: boolean;
  highlighted?: number;
  /** The run's causal evidence is being computed: its progress line. */
  evidence?: string | null;
}

export interface StatusView {
  text: string;
  tooltip: string;
  command?: CommandId;
  warning: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** What a view of one file of a corpus run is (shared/corpusView.ts), or nothing. */
function corpusLines(v: RunView): string[] {
  const c = v.corpusFile;
  if (!c) return [];
  return [`${c.path} of a corpus run: tokens ${c.first}–${c.first + c.tokens - 1} of the ${v.cfg.n_tokens} of ${c.files} files in ${c.root} it was trained on; metrics and latent statistics are the corpus's`];
}

/** CE recovered, or where the causal evidence stands. */
export function ceText(v: RunView, computing?: string | null): string {
  const e = v.analysis.evidence;
  if (computing) return `CE recovered: computing causal evidence (${computing})`;
  if (!e) return 'CE recovered: not computed yet';
  if ('unavailable' in e) return 'CE recovered: — (no causal evidence for this run, see the latent browser)';
  const f = e.fidelity;
  return `CE recovered ${f.ceRecovered === null ? '— (zero ablation costs nothing)' : f.ceRecovered.toFixed(3)} · CE clean ${f.ceClean.toFixed(3)}, SAE spliced in ${f.ceSpliced.toFixed(3)}, zero-ablated ${f.ceZeroAblation.toFixed(3)} nats/token`;
}

/** A one-screen summary of a run, for tooltips. */
export function runSummary(v: RunView, evidence?: string | null): string {
  const f = v.metrics.final;
  return [
    ...corpusLines(v),
    `${v.tokens.tokens.length} tokens · ${saeKindText(v.cfg.sae)} · ${v.cfg.sae.hook_name}`,
    `FVE ${f.fve.toFixed(3)} · L0 ${f.l0.toFixed(1)} · dead ${pct(f.dead_fraction)} · layer density ${f.layer_density.toFixed(1)} %`,
    ceText(v, evidence),
    `model ${v.cfg.model.name} · engine ${v.metrics.engine} (${v.metrics.device}) · ${(v.metrics.total_ms / 1000).toFixed(1)} s`,
    `SAE ${saeOriginText(v.cfg)}`,
    '',
    ...legendLines(v.analysis.concept.name),
  ].join('\n');
}

/** undefined: hide the item. */
export function statusView(s: StatusInput): StatusView | undefined {
  if (s.running !== undefined) {
    // A still icon: a spinning one repaints the window many times a second, on the cores training needs.
    return { text: `$(beaker) Latent Lens: ${s.running}`, tooltip: 'Latent Lens is training on this document. Click to cancel.', command: COMMANDS.cancelRun, warning: false };
  }
  if (!s.run) return undefined;
  const summary = runSummary(s.run, s.evidence);
  const random = s.run.cfg.model.random_weights ? ' (random weights)' : '';
  if (s.stale) {
    const trained = s.run.cfg.train !== undefined;
    return {
      text: '$(warning) Latent Lens: stale',
      tooltip: `The document changed after this run; the tints show the old tokens where they are unchanged. Click to ${trained ? 'train' : 'apply an SAE'} again.\n\n${summary}`,
      command: trained ? COMMANDS.trainOnFile : COMMANDS.applySae,
      warning: true,
    };
  }
  if (s.highlighted !== undefined) {
    return { text: `$(eye) Latent Lens: latent #${s.highlighted}`, tooltip: `Highlighting latent #${s.highlighted}. Click to show all latents again.\n\n${summary}`, command: COMMANDS.clearHighlight, warning: false };
  }
  const corpus = s.run.corpusFile ? ' · corpus SAE' : '';
  return { text: `$(symbol-color) Latent Lens: ${s.run.tokens.tokens.length} tokens${corpus}${random}`, tooltip: summary, warning: false };
}
