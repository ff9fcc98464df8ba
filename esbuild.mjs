// Bundles the extension host, the worker and the CLI for Node (cjs). `vscode` comes from the host and
// onnxruntime-node / tfjs-node carry native binaries, so they stay external and ship in node_modules.
import * as fs from 'node:fs';
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { worker: 'src/worker/main.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  // The latent browser's page (webview/main.ts → dist/webview.js + dist/webview.css), run inside the webview.
  {
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
  },
];

// report.html embeds Chart.js's UMD build, read at run time from beside the bundle (src/core/analysis/chartJs.ts).
fs.mkdirSync('dist', { recursive: true });
fs.copyFileSync('node_modules/chart.js/dist/chart.umd.js', 'dist/chart.umd.js');
// The latent browser loads the same Chart.js file, and the codicon font (its CSS refers to codicon.ttf beside it).
for (const f of ['codicon.css', 'codicon.ttf']) fs.copyFileSync(`node_modules/@vscode/codicons/dist/${f}`, `dist/${f}`);

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
