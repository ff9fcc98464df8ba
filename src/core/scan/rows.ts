import type { AnalysisReport } from '../analysis/types';
import type { RunCfg, RunMetrics } from '../run/format';
import type { LayerRow } from './format';

/** Why a run's CE recovered is missing, or "ok". */
function evidenceState(report: AnalysisReport, evidence: boolean): string {
  if (!evidence) return 'off';
  if (!report.evidence) return 'not computed';
  return 'unavailable' in report.evidence ? report.evidence.unavailable : 'ok';
}

/** A done layer's row of scan.json, from its run's cfg.json and metrics.json and its analysis.json (format.ts defines each field). */
export function layerRow(
  layer: number,
  dir: string,
  run: { cfg: RunCfg; metrics: RunMetrics },
  report: AnalysisReport,
  o: { evidence: boolean; analysisKey: string; ms: number },
): LayerRow {
  const f = run.metrics.final;
  const s = report.summary;
  const alive = run.cfg.sae.d_sae - s.dead;
  const first = report.conceptList[0];
  const listed = report.conceptList.length;
  const e = report.evidence;
  return {
    layer,
    dir,
    hook: run.cfg.sae.hook_name,
    dIn: run.cfg.sae.d_in,
    dSae: run.cfg.sae.d_sae,
    fve: f.fve,
    l0: f.l0,
    deadPct: 100 * f.dead_fraction,
    ceRecovered: e && 'fidelity' in e ? e.fidelity.ceRecovered : null,
    evidence: evidenceState(report, o.evidence),
    significant: s.significant,
    best: first ? { latent: first.latent, effect: first.effect, q: first.q } : null,
    punctuationFiring: s.punctuationFiring,
    alive,
    punctuationShare: alive > 0 ? s.punctuationFiring / alive : null,
    listed,
    proxies: s.proxies,
    proxyShare: listed > 0 ? s.proxies / listed : null,
    analysisKey: o.analysisKey,
    ms: o.ms,
  };
}
