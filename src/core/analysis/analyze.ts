import { UserError } from '../errors';
import type { RunToken } from '../run/format';
import type { SparseCodes } from '../sae/types';
import { MIN_BLOCKS } from './blockScheme';
import { checkCodes, toColumns, type LatentColumns } from './columns';
import { matchLexicon } from './conceptMatch';
import { densityAnatomy, densityHistogram } from './density';
import { heatmap } from './heatmap';
import { BUILTIN_CONCEPT, builtinLexicon, DEFAULT_LEXICON, type Concept, type Lexicon } from './lexicon';
import { isProxy, noiseProfile, punctuationFiring, type NoiseProfile } from './noise';
import { conceptSelectivity, REFINE_STOP, type Selectivity } from './selectivity';
import { classifyTokens } from './tokenClasses';
import { topLatentsPerToken } from './tokenTop';
import { ANALYSIS_VERSION, type AnalysisReport, type ListedLatent, type ReportMessage, type ResolvedAnalysisOptions, type RunInfo, type TopToken } from './types';

/** What the analysis needs, in memory: the tokens, their sparse codes and the latent count. */
export interface AnalysisInputs {
  tokens: readonly Pick<RunToken, 'id' | 'text'>[];
  codes: SparseCodes; // CSR, rows = tokens
  nLatents: number;
  /** Describes the run in the report; nTokens/nLatents are filled in. */
  run?: Partial<Omit<RunInfo, 'nTokens' | 'nLatents'>>;
  /** Names the codes' source in shape errors (e.g. the latents.safetensors path). */
  codesName?: string;
}

export interface AnalysisOptions extends Partial<Omit<ResolvedAnalysisOptions, 'maxPermutations'>> {
  /** Refinement cap; default ⌈tested latents / alpha⌉ (selectivity.ts). */
  maxPermutations?: number;
  /** Default: geography with the gazetteer lexicon. */
  concept?: Concept;
  /** Compare concept tokens with this lexicon's tokens instead of every other token. */
  contrast?: Lexicon;
}

export const DEFAULT_ANALYSIS_OPTIONS: Omit<ResolvedAnalysisOptions, 'maxPermutations'> = {
  topPerToken: 5,
  top: 10,
  permutations: 1000,
  seed: 0,
  nearAlways: 0.9,
  punctuationThreshold: 0.5,
  proxyThreshold: 0.3,
  alpha: 0.05,
  minSupport: 2,
  histogramBins: 20,
};

/** Below these the report warns that scores are fragile (the lab had ~220 tokens and ~15 concept tokens). */
const FEW_CONCEPT_TOKENS = 10;
const SMALL_DOCUMENT = 500;
const TOP_TOKENS = 5;

type Resolved = Omit<ResolvedAnalysisOptions, 'maxPermutations'> & { maxPermutations?: number };

export function resolveAnalysisOptions(o: AnalysisOptions): Resolved {
  const r: Resolved = { ...DEFAULT_ANALYSIS_OPTIONS, maxPermutations: o.maxPermutations };
  for (const key of Object.keys(DEFAULT_ANALYSIS_OPTIONS) as (keyof typeof DEFAULT_ANALYSIS_OPTIONS)[]) if (o[key] !== undefined) r[key] = o[key]!;
  const int = (k: keyof Resolved, min: number, max = 1e9) => {
    const v = r[k];
    if (v === undefined) return;
    if (!(Number.isInteger(v) && v >= min && v <= max)) throw new UserError(`analysis option ${k} must be an integer from ${min} to ${max}, got ${v}.`, 'E_USAGE');
  };
  const unit = (k: keyof typeof DEFAULT_ANALYSIS_OPTIONS) => {
    if (!(Number.isFinite(r[k]) && r[k] >= 0 && r[k] <= 1)) throw new UserError(`analysis option ${k} must be a number from 0 to 1, got ${r[k]}.`, 'E_USAGE');
  };
  int('topPerToken', 1, 1000);
  int('top', 1, 10000);
  int('permutations', 1, 1000000);
  int('maxPermutations', 1, 100000000);
  int('seed', 0, 0xffffffff);
  int('minSupport', 1, 1000000);
  int('histogramBins', 1, 1000);
  unit('nearAlways');
  unit('punctuationThreshold');
  unit('proxyThreshold');
  unit('alpha');
  if (r.alpha === 0) throw new UserError('analysis option alpha must be above 0 (e.g. 0.05).', 'E_USAGE');
  return r;
}

const r6 = (x: number) => Number(x.toPrecision(6));
const r6n = (x: number) => (Number.isNaN(x) ? null : r6(x));

function topTokens(cols: LatentColumns, latent: number, tokens: AnalysisInputs['tokens']): TopToken[] {
  const js: number[] = [];
  for (let j = cols.colPtr[latent]; j < cols.colPtr[latent + 1]; j++) js.push(j);
  js.sort((a, b) => cols.value[b] - cols.value[a] || cols.token[a] - cols.token[b]);
  return js.slice(0, TOP_TOKENS).map((j) => ({ token: cols.token[j], text: tokens[cols.token[j]].text, value: r6(cols.value[j]) }));
}

function listed(l: number, sel: Selectivity, noise: NoiseProfile, densityPct: Float64Array, proxy: boolean, cols: LatentColumns, tokens: AnalysisInputs['tokens']): ListedLatent {
  return {
    latent: l,
    score: r6n(sel.score[l]),
    diff: r6n(sel.diff[l]),
    p: r6n(sel.p[l]),
    q: r6n(sel.q[l]),
    support: sel.support[l],
    effect: r6n(sel.effect[l]),
    permutations: sel.permutationsUsed[l],
    densityPct: r6(densityPct[l]),
    punctuationShare: r6(noise.punctuationShare[l]),
    punctuationMass: r6(noise.punctuationMass[l]),
    stopwordShare: r6(noise.stopwordShare[l]),
    firstTokenShare: r6(noise.firstTokenShare[l]),
    proxy,
    topTokens: topTokens(cols, l, tokens),
  };
}

/**
 * Tested latents that fire on concept tokens and on no other tested token: the lab's ratio is
 * undefined for them ("only on concept tokens"); the test and the effect size still apply. Largest support first.
 */
function conceptOnly(sel: Selectivity): number[] {
  const out: number[] = [];
  for (let l = 0; l < sel.score.length; l++) if (Number.isNaN(sel.score[l]) && sel.support[l] >= sel.minSupport) out.push(l);
  return out.sort((a, b) => sel.support[b] - sel.support[a] || a - b);
}

/**
 * The evidence order of both concept lists: tested before untested, then q (smallest first), then
 * effect (largest first), then latent id.
 */
function byEvidence(sel: Selectivity): (a: number, b: number) => number {
  const q = (l: number) => (Number.isNaN(sel.q[l]) ? Infinity : sel.q[l]);
  const e = (l: number) => (Number.isNaN(sel.effect[l]) ? -Infinity : sel.effect[l]);
  return (a, b) => q(a) - q(b) || e(b) - e(a) || a - b;
}

/** Concept (1), other (0) and untested (−1) tokens; concept wins where a token is in both lexicons. */
function groups(concept: Uint8Array, contrast: Uint8Array | undefined): Int8Array {
  return Int8Array.from(concept, (c, t) => (c ? 1 : !contrast || contrast[t] ? 0 : -1));
}

/** The whole analysis of one document's codes; see types.ts for what each field means. */
export function analyzeCodes(inputs: AnalysisInputs, options: AnalysisOptions = {}): AnalysisReport {
  const o = resolveAnalysisOptions(options);
  const { tokens, codes, nLatents } = inputs;
  const T = tokens.length;
  const name = inputs.codesName ?? 'the sparse codes';
  if (T === 0) throw new UserError('there are no tokens to analyse; train on a non-empty text.', 'E_TOKENS');
  if (!(Number.isInteger(nLatents) && nLatents > 0)) throw new UserError(`the number of latents must be a positive integer, got ${nLatents}.`, 'E_SHAPE');
  checkCodes(codes, T, nLatents, name);

  const concept = options.concept ?? { name: BUILTIN_CONCEPT, lexicon: builtinLexicon(DEFAULT_LEXICON) };
  const cols = toColumns(codes, T, nLatents);
  const density = densityAnatomy(cols, o.nearAlways);
  const noise = noiseProfile(cols, classifyTokens(tokens));
  const conceptMatch = matchLexicon(tokens, concept.lexicon);
  const contrastMatch = options.contrast ? matchLexicon(tokens, options.contrast) : undefined;
  const group = groups(conceptMatch.mask, contrastMatch?.mask);
  const sel = conceptSelectivity(cols, group, { permutations: o.permutations, maxPermutations: o.maxPermutations, alpha: o.alpha, seed: o.seed, minSupport: o.minSupport });

  const passing: number[] = [];
  const others: number[] = [];
  for (let l = 0; l < nLatents; l++) {
    if (sel.q[l] <= o.alpha) passing.push(l);
    else if (sel.support[l] > 0) others.push(l);
  }
  const order = byEvidence(sel);
  const entry = (proxy: boolean) => (l: number) => listed(l, sel, noise, density.densityPct, proxy && isProxy(noise, l, o.proxyThreshold), cols, tokens);
  const conceptList = passing.sort(order).slice(0, o.top).map(entry(true));
  const conceptCandidates = others.sort(order).slice(0, o.top).map(entry(false));
  const punctIds = punctuationFiring(noise, o.punctuationThreshold);
  const punctuationList = punctIds.slice(0, o.top).map(entry(false));
  const heatIds = [...new Set([...conceptList, ...conceptCandidates, ...punctuationList].map((e) => e.latent))];
  const notAlwaysOn = new Uint8Array(nLatents).fill(1);
  for (const l of density.nearAlways) notAlwaysOn[l] = 0;
  const conceptTokens: number[] = [];
  group.forEach((g, t) => g === 1 && conceptTokens.push(t));

  const arr = (a: ArrayLike<number>) => Array.from(a, r6);
  const arrN = (a: ArrayLike<number>) => Array.from(a, r6n);
  return {
    version: ANALYSIS_VERSION,
    created: new Date().toISOString(),
    run: { source: '', randomWeights: false, ...inputs.run, nTokens: T, nLatents },
    options: { ...o, maxPermutations: sel.maxPermutations },
    summary: {
      nTokens: T,
      nLatents,
      layerDensityPct: r6(density.layerDensityPct),
      meanDensityPct: r6(density.meanDensityPct),
      l0: r6(density.l0),
      dead: density.dead.length,
      alwaysOn: density.alwaysOn.length,
      nearAlways: density.nearAlways.length,
      conceptTokens: sel.nConcept,
      tested: sel.tested,
      significant: passing.length,
      proxies: conceptList.filter((e) => e.proxy).length,
      punctuationFiring: punctIds.length,
    },
    densityHistogram: densityHistogram(density.count, T, o.histogramBins),
    alwaysOn: density.alwaysOn,
    nearAlways: density.nearAlways,
    latents: {
      densityPct: arr(density.densityPct),
      meanAbs: arr(density.meanAbs),
      max: arr(density.max),
      maxToken: Array.from(density.maxToken),
      score: arrN(sel.score),
      support: Array.from(sel.support),
      diff: arrN(sel.diff),
      effect: arrN(sel.effect),
      p: arrN(sel.p),
      permutations: Array.from(sel.permutationsUsed),
      q: arrN(sel.q),
      punctuationShare: arr(noise.punctuationShare),
      stopwordShare: arr(noise.stopwordShare),
      firstTokenShare: arr(noise.firstTokenShare),
    },
    perToken: roundTop(topLatentsPerToken(codes, T, o.topPerToken)),
    perTokenExcludingAlwaysOn: roundTop(topLatentsPerToken(codes, T, o.topPerToken, notAlwaysOn)),
    concept: {
      name: concept.name,
      lexicon: { name: concept.lexicon.name, rule: concept.lexicon.rule, source: concept.lexicon.source, terms: concept.lexicon.terms.length },
      matchedTerms: conceptMatch.matchedTerms,
      tokens: conceptTokens,
      contrast: options.contrast
        ? { name: options.contrast.name, source: options.contrast.source, terms: options.contrast.terms.length, tokens: sel.nOther }
        : null,
      nOther: sel.nOther,
      effect: 'rank-biserial',
      statistic: 'mean-difference',
      permutation: sel.scheme && { scheme: 'blocks', ...sel.scheme, autocorrelation: r6(sel.scheme.autocorrelation) },
    },
    conceptList,
    conceptCandidates,
    punctuationList,
    heatmaps: heatIds.map((l) => {
      const h = heatmap(cols, l);
      return { ...h, min: r6(h.min), max: r6(h.max), scaled: h.scaled.map((s) => Number(s.toPrecision(4))), rest: r6(h.rest) };
    }),
    messages: messages(inputs, o, concept, options.contrast, conceptMatch.matchedTerms.length, sel, conceptOnly(sel)),
  };
}

function roundTop(t: ReturnType<typeof topLatentsPerToken>): ReturnType<typeof topLatentsPerToken> {
  return { ...t, values: t.values.map((vs) => vs.map(r6)) };
}

function messages(
  inputs: AnalysisInputs,
  o: Resolved,
  concept: Concept,
  contrast: Lexicon | undefined,
  matched: number,
  sel: Selectivity,
  onlyConcept: number[],
): ReportMessage[] {
  const out: ReportMessage[] = [];
  const lex = concept.lexicon;
  const lexName = `lexicon "${lex.name}"${lex.source === 'built-in' ? '' : ` (${lex.source})`}`;
  const T = inputs.tokens.length;
  if (inputs.run?.randomWeights) {
    out.push({ level: 'warning', code: 'random-weights', text: 'The model has RANDOM weights (a generated test model): these latents say nothing about GPT-2. Use real GPT-2 for analysis.' });
  }
  if (lex.terms.length === 0) {
    out.push({ level: 'warning', code: 'empty-lexicon', text: `The ${lexName} of concept "${concept.name}" has no terms, so no token is a concept token and the concept test was not run. Add terms (one per line) and analyse again.` });
  } else if (sel.nConcept === 0) {
    out.push({ level: 'warning', code: 'no-concept-tokens', text: `No token of this document matches the ${lexName} (${lex.terms.length} terms) of concept "${concept.name}": every score is 0 and no p-value was computed. Try another lexicon or a document that mentions the concept.` });
  }
  if (sel.nConcept > 0 && sel.nOther === 0) {
    const why = contrast ? `the contrast lexicon "${contrast.name}" matches no token outside the concept` : 'every token is a concept token';
    out.push({ level: 'warning', code: 'no-other-tokens', text: `Nothing to compare the concept tokens with: ${why}. No score or p-value was computed.` });
  }
  if (sel.nConcept > 0 && sel.nConcept < FEW_CONCEPT_TOKENS) {
    out.push({ level: 'warning', code: 'few-concept-tokens', text: `Only ${sel.nConcept} concept token${sel.nConcept === 1 ? '' : 's'} (${matched} term${matched === 1 ? '' : 's'} matched): scores rest on a handful of activations. Read p, support and the heatmaps before trusting a score.` });
  }
  if (onlyConcept.length > 0) {
    const shown = onlyConcept.slice(0, 10).map((l) => `${l} (support ${sel.support[l]}, effect ${r6(sel.effect[l]).toFixed(2)}, q ${r6(sel.q[l])})`);
    out.push({
      level: 'info',
      code: 'concept-only-latents',
      text: `${onlyConcept.length} tested latent${onlyConcept.length === 1 ? ' fires' : 's fire'} only on concept tokens, so the lab's score (a ratio of non-zero means) is undefined for ${onlyConcept.length === 1 ? 'it' : 'them'}: ${shown.join(', ')}${onlyConcept.length > 10 ? ', …' : ''}. ${onlyConcept.length === 1 ? 'It is' : 'They are'} tested like every other latent, on the mean difference; read the effect size instead of the score.`,
    });
  }
  if (sel.scheme && sel.scheme.length === 1) {
    out.push({
      level: 'info',
      code: 'token-shuffle',
      text: `Only ${sel.nConcept + sel.nOther} tested tokens (fewer than ${2 * MIN_BLOCKS}): the permutation test shuffles concept labels token by token instead of in blocks of neighbouring tokens, so p-values ignore that neighbouring tokens are alike and may be too small.`,
    });
  }
  if (T < SMALL_DOCUMENT) {
    out.push({ level: 'info', code: 'small-document', text: `${T} tokens is a small sample (the course lab had ~220): scores are fragile and change with the seed and hyper-parameters; check them with \`latent-lens stability\`.` });
  }
  if (o.permutations < 1000) {
    out.push({ level: 'info', code: 'few-permutations', text: `Only ${o.permutations} shared permutations: a latent they reach at least ${REFINE_STOP} times gets no more, so its p-value has a resolution of only ${r6(1 / (1 + o.permutations))} (latents reached fewer times are refined further). Use ≥ 1000 for reporting.` });
  }
  return out;
}
