import { classifyTokens } from '../analysis/tokenClasses';
import type { AnalysisReport } from '../analysis/types';
import { isUserError, UserError } from '../errors';
import { parseHook } from '../hooks';
import { checkFinite, loadModel, type Gpt2Model } from '../model/load';
import type { RunContents } from '../run/runDir';
import { checkLatents, computeEvidence, type EvidenceOptions } from './evidence';
import type { Evidence } from './types';

/** Latents taken from the top of each ranked list when none are named. */
export const DEFAULT_EVIDENCE_TOP = 10;

/** What the evidence of a run needs from its analysis. */
export interface EvidenceSelection {
  /** Ranked latent lists, best first (the analysis's concept and punctuation lists). */
  ranked: number[][];
  /** Token indices of the concept. */
  conceptTokens: readonly number[];
}

export interface RunEvidenceOptions extends EvidenceOptions, EvidenceSelection {
  /** Latents to examine; default: the first `top` of each ranked list. */
  latents?: number[];
  /** Default DEFAULT_EVIDENCE_TOP. */
  top?: number;
  /** Model directory; default: the run's cfg.json model.dir. */
  modelDir?: string;
}

/** The parts of analysis.json the evidence uses: its ranked lists (significant, not significant, punctuation-firing) and the concept tokens. */
export function selectionFromReport(report: Pick<AnalysisReport, 'conceptList' | 'conceptCandidates' | 'punctuationList' | 'concept'>): EvidenceSelection {
  const lists = [report.conceptList, report.conceptCandidates, report.punctuationList];
  return { ranked: lists.map((list) => list.map((l) => l.latent)), conceptTokens: report.concept.tokens };
}

/** The first `top` latents of each list, each latent once, in list order. */
export function topLatents(ranked: number[][], top: number): number[] {
  if (!(Number.isInteger(top) && top >= 0)) throw new UserError(`the number of latents per list must be a non-negative integer, got ${top}.`, 'E_USAGE');
  return [...new Set(ranked.flatMap((list) => list.slice(0, top)))];
}

/**
 * The GPT-2 that made a run: `modelDir` when given, else cfg.json's model_dir. A model that is
 * gone, or does not fit the run's hook, is a UserError naming it.
 */
export function openRunModel(run: RunContents, modelDir?: string): Gpt2Model {
  const dir = modelDir ?? run.cfg.model.dir;
  if (dir === undefined) {
    throw new UserError(
      `run ${run.dir} does not record which model directory made it (its cfg.json has no model.dir: it was trained on saved activations, or by an older Latent Lens); pass --model DIR naming that model.`,
      'E_MODEL',
    );
  }
  const source = modelDir === undefined ? `the model directory ${dir} that made run ${run.dir} (cfg.json model.dir)` : `model directory ${dir}`;
  let model: Gpt2Model;
  try {
    model = loadModel(dir);
    checkFinite(model);
  } catch (e) {
    if (!isUserError(e)) throw e;
    const fix = modelDir === undefined ? 'Put the model back there, or pass --model DIR naming the same model.' : 'Give the directory of the model the run was trained with.';
    throw new UserError(`${source} cannot be loaded: ${e.message.split(/(?<=\.)\s/)[0]} ${fix}`, 'E_MODEL');
  }
  const hook = parseHook(run.cfg.sae.hook_name, model.config);
  if (hook.width !== run.cfg.sae.d_in) {
    throw new UserError(`${source} has ${run.cfg.sae.hook_name} of width ${hook.width}, but the run's SAE reads d_in ${run.cfg.sae.d_in}: it is not the model the run was trained with.`, 'E_MODEL');
  }
  return model;
}

/**
 * The causal evidence of a run directory (see computeEvidence) for `latents`, or the top of the
 * analysis's lists: its model, its SAE decoder and codes, its tokens, and the analysis's concept
 * tokens and punctuation for the split of ablation effects.
 */
export async function runEvidence(run: RunContents, o: RunEvidenceOptions): Promise<Evidence> {
  const files = run.tokens.files ?? [];
  if (files.length > 1) {
    throw new UserError(
      `run ${run.dir} was trained on a corpus of ${files.length} files, and the causal tests run on one document (the model's windows restart in every file); test the SAE on one of them: latent-lens apply FILE --sae ${run.dir}.`,
      'E_USAGE',
    );
  }
  const latents = o.latents ?? topLatents(o.ranked, o.top ?? DEFAULT_EVIDENCE_TOP);
  const decoder = run.sae;
  checkLatents(latents, decoder.dSae); // before the model is loaded
  const model = openRunModel(run, o.modelDir);
  const tokens = run.tokens.tokens;
  const concept = new Uint8Array(tokens.length);
  for (const t of o.conceptTokens) concept[t] = 1;
  const evidence = await computeEvidence(
    { model, hookName: run.cfg.sae.hook_name, tokens, decoder, codes: run.codes, groups: { concept, punctuation: classifyTokens(tokens).punctuation } },
    latents,
    o,
  );
  const trained = run.metrics.final.fve;
  if (!(Math.abs(evidence.fidelity.fve - trained) <= FVE_AGREEMENT * Math.max(1, Math.abs(trained)))) {
    throw new UserError(
      `the SAE reconstructs ${run.cfg.sae.hook_name} of ${model.dir} with FVE ${evidence.fidelity.fve}, but reached FVE ${trained} on the activations it was trained on: that is not the model (or not the text) run ${run.dir} was trained with. Use the model the run was trained with (--model DIR).`,
      'E_MODEL',
    );
  }
  return evidence;
}

/**
 * How far the FVE recomputed on fresh activations may be from the run's (relative to max(1, |FVE|)):
 * the same model gives the same activations up to float32 noise (differences of ~1e-6 seen).
 */
const FVE_AGREEMENT = 1e-3;
