/**
 * Paints a document's tokens: decoration types per (hue, bucket), all created once, coloured by the
 * theme colours package.json contributes (latentLens.<hue>Tint<bucket>), plus one type for the
 * optional inline `#id` labels. VS Code replaces a type's ranges on every setDecorations call, so a
 * render is a full repaint of the editor.
 *
 * Token boundaries stay visible: VS Code draws touching ranges of one decoration type as a single
 * box, so every (hue, bucket) has two identical types, for even and odd token indices — neighbours
 * never share one — and each box has a thin edge in the editor's background colour.
 */
import * as vscode from 'vscode';
import type { PaintInput } from '../document/docState';
import { HUES, type Hue } from '../../shared/runFacts';
import { BUCKETS, maxOf, planTints } from './tint';

export class Decorator implements vscode.Disposable {
  private readonly types = new Map<string, vscode.TextEditorDecorationType>();
  private readonly labelType = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 0.15em', fontStyle: 'italic' },
  });

  constructor() {
    for (const hue of HUES) {
      for (let b = 1; b <= BUCKETS; b++) {
        for (const parity of [0, 1]) {
          this.types.set(
            key(hue, b, parity),
            vscode.window.createTextEditorDecorationType({
              backgroundColor: new vscode.ThemeColor(`latentLens.${hue}Tint${b}`),
              borderRadius: '3px',
              border: '1px solid',
              borderColor: new vscode.ThemeColor('editor.background'),
              rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
            }),
          );
        }
      }
    }
  }

  paint(editor: vscode.TextEditor, input: PaintInput): void {
    const doc = editor.document;
    const range = (i: number): vscode.Range | undefined => {
      const s = input.spans[i];
      return s && s.end > s.start ? new vscode.Range(doc.positionAt(s.start), doc.positionAt(s.end)) : undefined;
    };
    const plan = planTints(input.tints, maxOf(input.tints.map((t) => t.value)));
    for (const hue of HUES) {
      for (let b = 1; b <= BUCKETS; b++) {
        for (const parity of [0, 1]) {
          const ranges = plan[hue][b - 1].filter((i) => i % 2 === parity).map(range).filter((r): r is vscode.Range => r !== undefined);
          editor.setDecorations(this.types.get(key(hue, b, parity))!, ranges);
        }
      }
    }
    const labels: vscode.DecorationOptions[] = [];
    input.labels.forEach((latent, i) => {
      const r = latent === undefined ? undefined : range(i);
      if (r) labels.push({ range: r, renderOptions: { after: { contentText: `#${latent}` } } });
    });
    editor.setDecorations(this.labelType, labels);
  }

  clear(editor: vscode.TextEditor): void {
    for (const t of this.types.values()) editor.setDecorations(t, []);
    editor.setDecorations(this.labelType, []);
  }

  dispose(): void {
    for (const t of this.types.values()) t.dispose();
    this.labelType.dispose();
  }
}

function key(hue: Hue, bucket: number, parity: number): string {
  return `${hue}:${bucket}:${parity}`;
}
