// The tints keep text readable and stay visible, in the four themes VS Code ships by default:
// text in the theme's editor foreground on the strongest tint (the tint's alpha blended over the
// editor background, in sRGB as the browser composites it) has a WCAG contrast ratio ≥ 4.5, and
// each strength is visibly apart from the background and from the one below it (CIELAB ΔE76).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..', '..');

/**
 * Editor background and foreground of each theme, and the key of package.json `contributes.colors`
 * defaults VS Code applies in it. From VS Code 1.100.3 (code-server 4.100.3), in
 * lib/vscode/extensions/theme-defaults/themes/:
 *   Light Modern  light_modern.json  "editor.background": "#FFFFFF", "editor.foreground": "#3B3B3B"
 *   Dark Modern   dark_modern.json   "editor.background": "#1F1F1F", "editor.foreground": "#CCCCCC"
 *   Dark HC       hc_black.json      "editor.background": "#000000", "editor.foreground": "#FFFFFF"
 *   Light HC      hc_light.json sets neither, so VS Code's registry defaults apply
 *                 (src/vs/platform/theme/common/colors/editorColors.ts: editor.background hcLight
 *                 Color.white; editor.foreground hcLight = `foreground`, baseColors.ts hcLight '#292929').
 */
const THEMES = [
  { name: 'Light Modern', file: 'light_modern.json', kind: 'light', background: '#FFFFFF', foreground: '#3B3B3B' },
  { name: 'Dark Modern', file: 'dark_modern.json', kind: 'dark', background: '#1F1F1F', foreground: '#CCCCCC' },
  { name: 'Dark High Contrast', file: 'hc_black.json', kind: 'highContrast', background: '#000000', foreground: '#FFFFFF' },
  { name: 'Light High Contrast', file: 'hc_light.json', kind: 'highContrastLight', background: '#FFFFFF', foreground: '#292929' },
] as const;

const MIN_TEXT_CONTRAST = 4.5;
/** The weakest strength must stand out from the background, and every strength from the one below it. */
const MIN_DELTA_E_FIRST = 15;
const MIN_DELTA_E_STEP = 6;

type Rgb = [number, number, number];

function parse(hex: string): { rgb: Rgb; alpha: number } {
  const m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(hex);
  if (!m) throw new Error(`not a #RRGGBB[AA] colour: ${hex}`);
  const rgb = [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16)) as Rgb;
  return { rgb, alpha: m[2] === undefined ? 1 : parseInt(m[2], 16) / 255 };
}

const blend = (tint: string, background: string): Rgb => {
  const t = parse(tint);
  const b = parse(background).rgb;
  return t.rgb.map((c, i) => t.alpha * c + (1 - t.alpha) * b[i]) as Rgb;
};

const linear = (c: number) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
const luminance = (c: Rgb) => 0.2126 * linear(c[0]) + 0.7152 * linear(c[1]) + 0.0722 * linear(c[2]);

/** WCAG 2 contrast ratio. */
function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** CIELAB (D65) distance. */
function deltaE(a: Rgb, b: Rgb): number {
  const lab = (c: Rgb) => {
    const [r, g, bl] = c.map(linear);
    const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
    const x = f((0.4124 * r + 0.3576 * g + 0.1805 * bl) / 0.95047);
    const y = f(0.2126 * r + 0.7152 * g + 0.0722 * bl);
    const z = f((0.0193 * r + 0.1192 * g + 0.9505 * bl) / 1.08883);
    return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
  };
  const [p, q] = [lab(a), lab(b)];
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { contributes: { colors: { id: string; defaults: Record<string, string> }[] } };
const tints = new Map(manifest.contributes.colors.map((c) => [c.id, c.defaults]));
const HUES = ['geography', 'punctuation', 'other', 'highlight'];

test('the theme colours above are those of the installed VS Code, when it is installed', (t) => {
  const dir = path.join(root, '.vscode-test/code-server/node_modules/code-server/lib/vscode/extensions/theme-defaults/themes');
  if (!fs.existsSync(dir)) return t.skip('code-server is not installed (test/e2e/setup.sh)');
  for (const theme of THEMES) {
    const colors = (JSON.parse(fs.readFileSync(path.join(dir, theme.file), 'utf8')) as { colors: Record<string, string> }).colors;
    if (theme.kind === 'highContrastLight') {
      assert.equal(colors['editor.background'], undefined, `${theme.file} sets no editor.background (the registry default applies)`);
      assert.equal(colors['editor.foreground'], undefined, `${theme.file} sets no editor.foreground (the registry default applies)`);
    } else {
      assert.equal(colors['editor.background']?.toUpperCase(), theme.background, `${theme.file} editor.background`);
      assert.equal(colors['editor.foreground']?.toUpperCase(), theme.foreground, `${theme.file} editor.foreground`);
    }
  }
});

for (const theme of THEMES) {
  test(`${theme.name}: text on every tint ≥ ${MIN_TEXT_CONTRAST}:1, every strength visible`, () => {
    const fg = parse(theme.foreground).rgb;
    const bg = parse(theme.background).rgb;
    for (const hue of HUES) {
      let below = bg;
      for (let b = 1; b <= 4; b++) {
        const hex = tints.get(`latentLens.${hue}Tint${b}`)?.[theme.kind];
        assert.ok(hex, `latentLens.${hue}Tint${b} has a ${theme.kind} default`);
        const shown = blend(hex, theme.background);
        const ratio = contrast(fg, shown);
        assert.ok(ratio >= MIN_TEXT_CONTRAST, `${hue} strength ${b} (${hex}): text contrast ${ratio.toFixed(2)}:1`);
        const step = deltaE(shown, below);
        const min = b === 1 ? MIN_DELTA_E_FIRST : MIN_DELTA_E_STEP;
        assert.ok(step >= min, `${hue} strength ${b} (${hex}) is ΔE ${step.toFixed(1)} from ${b === 1 ? 'the background' : `strength ${b - 1}`}, under ${min}`);
        below = shown;
      }
    }
  });
}
