/** A scan as terminal text: the table across layers, then each layer's concept latents across depth. */
import { BASIS_TEXT, num, SCAN_COLUMNS } from './columns';
import type { ScanJson } from './format';

export function formatScan(scan: ScanJson): string {
  const sae = scan.settings.sae;
  const recipe = sae.kind === 'trained' ? `trained, preset ${sae.config.preset}, seed ${sae.config.seed}` : `release ${sae.release}`;
  const out = [`layers ${scan.rows.map((r) => r.layer).join(', ') || 'none'} done of ${scan.layers.length} requested; ${sae.hookTemplate}, ${recipe}`];
  const heads = ['layer', ...SCAN_COLUMNS.map((c) => c.head)];
  const cells = scan.rows.map((r) => [String(r.layer), ...SCAN_COLUMNS.map((c) => c.cell(r))]);
  const widths = heads.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  for (const row of [heads, ...cells]) out.push(`  ${row.map((c, i) => c.padStart(widths[i])).join('  ')}`);
  if (scan.rows.some((r) => r.evidence !== 'ok' && r.evidence !== 'off')) {
    for (const r of scan.rows.filter((x) => x.evidence !== 'ok' && x.evidence !== 'off')) out.push(`  layer ${r.layer}: no CE recovered — ${r.evidence}`);
  }
  const lines = scan.rows.flatMap((r) => {
    const pairs = scan.matching.pairs.filter((p) => p.from === r.layer);
    const latents = pairs[0]?.latents ?? [];
    if (latents.length === 0) return [];
    const each = latents.map((l, i) => `#${l.latent} → ${pairs.map((p) => `L${p.to} #${p.latents[i].match.latent} ${num(p.latents[i].match.cos)}${p.latents[i].persists ? '*' : ''}`).join(', ')}`);
    return [`  layer ${r.layer}: ${each.join('; ')}`];
  });
  if (lines.length) out.push(`across depth — best match in the neighbouring layers by the cosine of the ${BASIS_TEXT[scan.matching.basis]} (* persists: cos ≥ ${scan.matching.threshold}):`, ...lines);
  if (scan.pending.length) out.push(`not done yet: layer${scan.pending.length > 1 ? 's' : ''} ${scan.pending.join(', ')} — run the same command again to resume.`);
  for (const m of scan.missing) out.push(`skipped layer ${m.layer}: ${m.reason}`);
  return out.join('\n');
}
