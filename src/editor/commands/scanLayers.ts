/**
 * "Latent Lens: Scan all layers of this file": one SAE per layer of GPT-2 on the text (the settings'
 * SAE in every layer), in the worker, cancellable, with progress per layer and the scan's ETA, like
 * training (runOnFile). The scan directory is the document's for this text and these settings
 * (docScan.ts scanKey), so the same command after a cancel resumes it: finished layers are kept.
 * When it is done the editor shows the settings' layer, and the latent browser the layer view.
 */
import * as path from 'node:path';
import type { Lens } from '../lens';
import { loadRunView } from '../runCache';
import { firstLayer, scanKey, settingsLayer } from '../scan/docScan';
import { runOnFile } from './trainOnFile';

export function scanLayersOfFile(lens: Lens, uriArg?: unknown): Promise<void> {
  return runOnFile(lens, uriArg, 'Scan all layers of this file', async (_settings, what) => ({
    doing: `scanning every layer of ${what}`,
    start: async (key, job, onProgress) => {
      const out = lens.cache.scanDir(key, scanKey(job));
      const started = await lens.client.scan(key, { ...job, out, layers: 'all' }, onProgress);
      const done = started.done.then((sv) => {
        // The command scans every layer: their count is the model's.
        const layer = firstLayer(sv.scan, settingsLayer(job.settings.sae, sv.scan.layers.length));
        const row = sv.scan.rows.find((r) => r.layer === layer);
        const view = row && loadRunView(path.join(sv.scanDir, row.dir));
        if (!view) throw new Error(`the scan in ${sv.scanDir} finished without a readable layer run`);
        lens.log.info(`scan ${sv.scanDir}: made ${sv.made.join(', ') || 'none'}, re-analysed ${sv.reanalysed.join(', ') || 'none'}, kept ${sv.kept.join(', ') || 'none'}; showing layer ${layer}`);
        return view;
      });
      return { ...started, done };
    },
  }));
}
