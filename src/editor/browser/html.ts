/** The latent browser's HTML page: a strict CSP (scripts only with this page's nonce) and the bundle's files. */
import { escapeHtml } from '../../core/analysis/htmlReport';

export interface BrowserPage {
  /** webview.cspSource: the origin the webview serves local resources from. */
  cspSource: string;
  /** Fresh for every page: only scripts carrying it run. */
  nonce: string;
  /** Webview URIs (webview.asWebviewUri) of dist/webview.js, dist/chart.umd.js, dist/webview.css, dist/codicon.css. */
  script: string;
  chartScript: string;
  style: string;
  codicons: string;
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  // Styles come from files only: vscode-elements use constructed stylesheets, and every inline style
  // (Chart.js's canvas size, the heatmap's --heat) is set through the CSSOM, which CSP does not govern.
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
  ].join('; ');
}

export function browserHtml(p: BrowserPage): string {
  const a = escapeHtml;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${a(contentSecurityPolicy(p.cspSource, p.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link id="vscode-codicon-stylesheet" rel="stylesheet" href="${a(p.codicons)}">
<link rel="stylesheet" href="${a(p.style)}">
<title>Latent Browser</title>
</head>
<body>
<main id="app"></main>
<script nonce="${a(p.nonce)}" src="${a(p.chartScript)}"></script>
<script nonce="${a(p.nonce)}" src="${a(p.script)}"></script>
</body>
</html>
`;
}
