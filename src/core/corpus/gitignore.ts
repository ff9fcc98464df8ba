/**
 * The .gitignore files of a folder and its subfolders, as git reads them (gitignore(5)): blank lines
 * and `#` comments are skipped, trailing spaces dropped (unless escaped), `!` re-includes, a trailing
 * `/` matches directories only, a pattern with a `/` before its end is anchored to the .gitignore's
 * folder (else it matches a name at any depth below it), `*`, `?`, `[…]` and `**` as in glob.ts.
 * Within one file the last matching line wins; a deeper .gitignore wins over a shallower one; nothing
 * inside an ignored directory comes back (git does not look inside it). Not read: .git/info/exclude
 * and the user's global excludes file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { globToRegExp } from './glob';

interface Rule {
  re: RegExp;
  negate: boolean;
  dirOnly: boolean;
}

/** The rules of one .gitignore file's text. */
export function parseGitignore(text: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    if (line.startsWith('\\#') || line.startsWith('\\!')) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    if (line === '') continue;
    const anchored = line.includes('/');
    // Braces are literal in .gitignore, alternatives only in glob.ts.
    const body = globToRegExp(line.replace(/^\//, '').replace(/[{}]/g, '\\$&')).source.slice(1, -1);
    rules.push({ re: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`), negate, dirOnly });
  }
  return rules;
}

/** Whether the rules ignore `rel` (relative to their file's folder): undefined when no rule matches. */
function verdict(rules: Rule[], rel: string, isDir: boolean): boolean | undefined {
  let ignored: boolean | undefined;
  for (const r of rules) if ((!r.dirOnly || isDir) && r.re.test(rel)) ignored = !r.negate;
  return ignored;
}

/** The .gitignore files under `root`, read on first need. */
export class Gitignores {
  private readonly byDir = new Map<string, Rule[]>();

  constructor(readonly root: string) {}

  private rulesOf(dir: string): Rule[] {
    let rules = this.byDir.get(dir);
    if (!rules) {
      let text = '';
      try {
        text = fs.readFileSync(path.join(this.root, dir, '.gitignore'), 'utf8');
      } catch {
        // no .gitignore here (or unreadable: git would not use it either)
      }
      rules = parseGitignore(text);
      this.byDir.set(dir, rules);
    }
    return rules;
  }

  /** Whether the entry `rel` (relative to root, / separators) is ignored by itself, its parents' .gitignore files deciding. */
  ignoresEntry(rel: string, isDir: boolean): boolean {
    const parts = rel.split('/');
    let ignored = false;
    for (let d = 0; d < parts.length; d++) {
      const dir = parts.slice(0, d).join('/');
      const v = verdict(this.rulesOf(dir), parts.slice(d).join('/'), isDir);
      if (v !== undefined) ignored = v;
    }
    return ignored;
  }

  /** Whether the file `rel` is ignored: it, or one of the folders it is in. */
  ignores(rel: string): boolean {
    const parts = rel.split('/');
    for (let d = 1; d < parts.length; d++) if (this.ignoresEntry(parts.slice(0, d).join('/'), true)) return true;
    return this.ignoresEntry(rel, false);
  }
}
