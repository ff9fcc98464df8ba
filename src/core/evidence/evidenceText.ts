import type { Evidence, GroupDelta, LatentEvidence, LogitToken } from './types';

/** The causal evidence as terminal text (what `latent-lens evidence` prints). */

const num = (v: number | null, d = 4) => (v === null ? '—' : v !== 0 && Math.abs(v) < 10 ** -d ? v.toExponential(1) : v.toFixed(d));
const tokens = (ts: LogitToken[], n: number) => ts.slice(0, n).map((t) => `${t.token === null ? `#${t.id}` : JSON.stringify(t.token)} ${num(t.value, 2)}`).join(', ');
const group = (g: GroupDelta) => `${num(g.meanDeltaLoss)} over ${g.positions}`;

function latentLines(e: LatentEvidence, nTokens: number): string[] {
  const a = e.ablation;
  const lines = [
    `latent ${e.latent} (fires on ${a.firingTokens} tokens): ablated, mean ΔCE ${num(a.meanDeltaLoss)}, max ${num(a.maxDeltaLoss)}; next token concept: ${group(a.conceptNext)}, punctuation: ${group(a.punctuationNext)} positions`,
  ];
  if ('omitted' in e.logits) lines.push(`  logits: omitted — ${e.logits.omitted}`);
  else lines.push(`  promotes  ${tokens(e.logits.top, nTokens)}`, `  suppresses ${tokens(e.logits.bottom, nTokens)}`);
  return lines;
}

export function formatEvidence(e: Evidence, logitTokens = 5): string {
  const f = e.fidelity;
  const out: string[] = [];
  if (e.randomWeights) out.push('*** RANDOM WEIGHTS: a generated test model, not GPT-2; these effects mean nothing. ***');
  out.push(
    `causal evidence at ${e.hookName} of ${e.model}, ${e.nTokens} tokens${e.perWindow ? `, computed per window (${e.windows.length} windows)` : ''}`,
    `CE clean ${num(f.ceClean)}, spliced (SAE reconstruction) ${num(f.ceSpliced)}, zero-ablated ${num(f.ceZeroAblation)} — CE recovered ${num(f.ceRecovered, 3)}, FVE ${num(f.fve, 3)}`,
    e.rule,
  );
  if (e.latents.length) out.push('', `Ablating one latent (hook → x − z_j·s_out·W_dec[j], s_out = 1 unless the SAE normalises its input; SAE error kept); ΔCE = CE(ablated) − CE(clean), mean over positions:`);
  for (const l of e.latents) out.push(...latentLines(l, logitTokens));
  return out.join('\n');
}
