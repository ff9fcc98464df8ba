/**
 * The files of a corpus from the command line's inputs (`latent-lens train DIR|FILE|GLOB...`): a
 * folder is every file under it, a file is itself, a glob (quoted, so the shell leaves it) is every
 * file it matches below its literal leading folders. Folders and globs skip hidden files and
 * folders (names starting with ".", such as .git and .gitignore) and what the .gitignore files say
 * (those of the enclosing git work tree too) and what an `exclude` glob matches (a file or a folder,
 * by its path below the folder: `b` or `**\/b` drops folder b and all it holds, as VS Code's
 * files.exclude does), then keep what an `include` glob matches. Whether a file is text is decided
 * when it is read (scan.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { Gitignores } from './gitignore';
import { globMatcher, isGlob } from './glob';

export interface CorpusFile {
  /** Path relative to the corpus root, / separators: what tokens.json records. */
  path: string;
  abs: string;
}

export interface Corpus {
  /** The folder the paths are relative to: the common parent of the inputs. */
  root: string;
  /** In path order. */
  files: CorpusFile[];
}

export interface ListOptions {
  /** Keep only files under a folder or glob whose path below it matches one of these (default: all). */
  include?: readonly string[];
  /** Drop files and folders whose path below the folder matches one of these. */
  exclude?: readonly string[];
  /** Honour .gitignore files (default true). */
  gitignore?: boolean;
  /** What messages call the include and exclude globs (default the CLI's --include and --exclude). */
  names?: { include: string; exclude: string };
}

const posix = (p: string) => p.split(path.sep).join('/');

/** The git work tree `dir` is in (the nearest folder above with a .git), else `dir`. */
function gitRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}

/** Every file below `dir` (absolute, sorted), without hidden entries, what `ignores` ignores and what `excluded` matches (paths below `dir`). */
function walk(dir: string, ignores: Gitignores | undefined, excluded: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (d: string) => {
    const real = fs.realpathSync(d);
    if (seen.has(real)) return; // a symlink loop
    seen.add(real);
    for (const name of fs.readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const abs = path.join(d, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(abs);
      } catch {
        continue; // a dangling symlink, or gone meanwhile
      }
      if (ignores?.ignoresEntry(posix(path.relative(ignores.root, abs)), st.isDirectory()) || excluded(posix(path.relative(dir, abs)))) continue;
      if (st.isDirectory()) visit(abs);
      else if (st.isFile()) out.push(abs);
    }
  };
  visit(dir);
  return out;
}

/** The literal folder a glob starts from and the pattern below it. */
function splitGlob(glob: string): { base: string; pattern: string } {
  const parts = posix(glob).split('/');
  const first = parts.findIndex((p) => isGlob(p));
  const base = parts.slice(0, first).join('/') || '.';
  return { base: parts[0] === '' && first === 1 ? '/' : base, pattern: parts.slice(first).join('/') };
}

/** Whether a path matches any of the globs. */
function anyOf(globs: readonly string[]): (rel: string) => boolean {
  const matchers = globs.map(globMatcher);
  return (rel) => matchers.some((m) => m(rel));
}

/** The files below `dir` that the glob's pattern (if any) and an include glob (if any) match. */
function keptBelow(dir: string, files: string[], include: readonly string[] | undefined, pattern?: string): string[] {
  const included = include?.length ? anyOf(include) : () => true;
  const matched = pattern === undefined ? () => true : globMatcher(pattern);
  return files.filter((abs) => {
    const rel = posix(path.relative(dir, abs));
    return matched(rel) && included(rel);
  });
}

/** The common parent folder of absolute paths. */
function commonParent(dirs: string[]): string {
  let root = dirs[0];
  for (const d of dirs.slice(1)) while (root !== path.dirname(root) && path.relative(root, d).startsWith('..')) root = path.dirname(root);
  return root;
}

/** Lists a corpus; an input that names nothing, an empty folder and a glob matching nothing are UserErrors. */
export function listCorpus(inputs: string[], o: ListOptions = {}): Corpus {
  if (inputs.length === 0) throw new UserError('give at least one input: a text FILE, a folder or a glob such as "docs/**/*.md".', 'E_USAGE');
  const bases: string[] = [];
  const found: string[] = [];
  const names = o.names ?? { include: '--include', exclude: '--exclude' };
  const filtered = [o.gitignore !== false && '.gitignore', o.include?.length && `${names.include} ${o.include.join(' ')}`, o.exclude?.length && `${names.exclude} ${o.exclude.join(' ')}`].filter(Boolean);
  const excluded = anyOf(o.exclude ?? []);
  const after = filtered.length ? ` (after ${filtered.join(', ')})` : '';
  for (const input of inputs) {
    const abs = path.resolve(input);
    const st = fs.existsSync(abs) ? fs.statSync(abs) : undefined;
    if (st?.isFile()) {
      bases.push(path.dirname(abs));
      found.push(abs);
      continue;
    }
    const glob = st ? undefined : isGlob(input) ? splitGlob(input) : undefined;
    if (!st && !glob) throw new UserError(`cannot read ${input}: there is no such file or folder. Give a text file, a folder, or a glob in quotes (e.g. "docs/**/*.md").`, 'E_INPUT');
    const dir = glob ? path.resolve(glob.base) : abs;
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`the glob ${input} matches no file: its folder ${glob!.base} does not exist.`, 'E_INPUT');
    const ignores = o.gitignore === false ? undefined : new Gitignores(gitRoot(dir));
    const files = keptBelow(dir, walk(dir, ignores, excluded), o.include, glob?.pattern);
    if (files.length === 0) {
      throw glob
        ? new UserError(`the glob ${input} matches no file${after}; check the pattern (** spans folders, * stays within one) and quote it so the shell leaves it to Latent Lens.`, 'E_INPUT')
        : new UserError(`the folder ${input} has no files to train on${after}; give a folder with text files in it.`, 'E_EMPTY');
    }
    bases.push(dir);
    found.push(...files);
  }
  const root = commonParent(bases);
  const unique = [...new Set(found)];
  const files = unique.map((abs) => ({ path: posix(path.relative(root, abs)), abs })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { root, files };
}
