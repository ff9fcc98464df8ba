import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The text of Chart.js's UMD build, embedded into report.html so the report opens offline. Read at
 * run time, first from beside the running bundle (dist/chart.umd.js, which the build copies there
 * and the packaged extension ships), else from node_modules (tests under tsx, dist/cli.js inside a
 * checkout). Its source-map comment is dropped: the map is not shipped.
 */
const FILE = 'chart.umd.js';

function candidates(): string[] {
  const out = [path.join(__dirname, FILE)];
  try {
    // chart.js's "exports" hide dist/ subpaths; its main entry lives in dist/ beside the UMD build.
    out.push(path.join(path.dirname(require.resolve('chart.js')), FILE));
  } catch {
    // Not installed (a packaged extension): only the copy beside the bundle can serve.
  }
  return out;
}

let cached: string | undefined;

export function chartJsSource(): string {
  if (cached !== undefined) return cached;
  const tried = candidates();
  const found = tried.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(`Chart.js (${FILE}) was not found (looked in ${tried.join(', ')}); rebuild with \`node esbuild.mjs\`, which copies it beside the bundle.`);
  }
  cached = fs.readFileSync(found, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  return cached;
}
