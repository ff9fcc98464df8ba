/** Hover on a decorated token: its latents, with icon links that trust only the two latentLens commands. */
import * as vscode from 'vscode';
import { HOVER_COMMANDS, hoverMarkdown, type Promotes } from './markdown';
import type { Lens } from '../lens';
import type { DocState } from '../document/docState';
import { tokenAt } from '../document/spanShift';
import { currentSettings } from '../settings/workspaceSettings';

/** A latent's promoted tokens as the run's causal evidence has them (or where the evidence stands). */
function promotesOf(s: DocState): (latent: number) => Promotes {
  return (latent) => {
    const e = s.facts.evidence(latent);
    if (e) return 'omitted' in e.logits ? { omitted: e.logits.omitted } : { tokens: e.logits.top.map((t) => t.token) };
    return s.work.evidence !== null ? 'computing' : 'not computed';
  };
}

export function registerHover(lens: Lens): vscode.Disposable {
  return vscode.languages.registerHoverProvider('*', {
    provideHover(doc, position) {
      const s = lens.stateOf(doc.uri);
      if (!s) return undefined;
      const i = tokenAt(s.spans, s.live, doc.offsetAt(position));
      if (i < 0) return undefined;
      const span = s.spans[i]!;
      const { view } = s;
      const md = new vscode.MarkdownString(
        hoverMarkdown({
          uri: s.uri,
          tokenText: doc.getText(new vscode.Range(doc.positionAt(span.start), doc.positionAt(span.end))),
          tokenIndex: i,
          nTokens: view.tokens.tokens.length,
          top: s.facts.top(i),
          facts: s.facts.facts,
          promotes: promotesOf(s),
          model: view.cfg.model.name,
          randomWeights: view.cfg.model.random_weights,
          hook: view.cfg.sae.hook_name,
          conceptName: view.analysis.concept.name,
          stale: s.stale,
          tint: s.facts.tint(i, currentSettings().settings['tints.excludeAlwaysOn']).why,
        }),
      );
      md.isTrusted = { enabledCommands: [...HOVER_COMMANDS] };
      md.supportHtml = false;
      md.supportThemeIcons = true;
      return new vscode.Hover(md, new vscode.Range(doc.positionAt(span.start), doc.positionAt(span.end)));
    },
  });
}
