/**
 * Glob patterns over relative paths with / separators, as VS Code's include/exclude boxes and shells
 * write them: `*` any characters within one path segment, `?` one character but /, `**` as a whole
 * segment any number of segments (none included: `a/**\/b` matches a/b), `[abc]` / `[a-z]` / `[!a]`
 * one character of a class, `{x,y}` alternatives (nested allowed), `\c` the character c. Dot files are
 * matched like any other (as VS Code does). A pattern matches the whole path.
 */
import { UserError } from '../errors';

const SPECIAL = /[*?[{]/;

/** Whether `s` has glob syntax (and is not just a path). */
export function isGlob(s: string): boolean {
  return SPECIAL.test(s.replace(/\\./g, ''));
}

const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The regular expression source of `p` from position i until one of `stops` at depth 0 (or the end). */
function compile(p: string, i: number, stops: string): { re: string; end: number } {
  let re = '';
  while (i < p.length) {
    const c = p[i];
    if (stops.includes(c)) return { re, end: i };
    if (c === '\\' && i + 1 < p.length) {
      re += escapeRe(p[i + 1]);
      i += 2;
    } else if (c === '*') {
      if (p[i + 1] === '*' && (i === 0 || p[i - 1] === '/') && (i + 2 === p.length || p[i + 2] === '/')) {
        // A whole-segment **: any number of segments, with the slash after it.
        re += i + 2 === p.length ? '.*' : '(?:[^/]*/)*';
        i += i + 2 === p.length ? 2 : 3;
      } else {
        re += '[^/]*';
        while (p[i] === '*') i++;
      }
    } else if (c === '?') {
      re += '[^/]';
      i++;
    } else if (c === '[') {
      const close = p.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        i++;
        continue;
      }
      let body = p.slice(i + 1, close);
      const negated = body[0] === '!' || body[0] === '^';
      if (negated) body = body.slice(1);
      re += `[${negated ? '^/' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close + 1;
    } else if (c === '{') {
      const alts: string[] = [];
      let j = i + 1;
      for (;;) {
        const part = compile(p, j, ',}');
        alts.push(part.re);
        if (part.end >= p.length) throw new UserError(`the glob ${JSON.stringify(p)} has a { without its }; close it or escape it as \\{.`, 'E_USAGE');
        j = part.end + 1;
        if (p[part.end] === '}') break;
      }
      re += `(?:${alts.join('|')})`;
      i = j;
    } else {
      re += escapeRe(c);
      i++;
    }
  }
  return { re, end: i };
}

/** The pattern as a RegExp over whole relative paths. */
export function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${compile(pattern, 0, '').re}$`);
}

/** A matcher of relative paths for a pattern (a leading ./ or / is dropped). */
export function globMatcher(pattern: string): (relPath: string) => boolean {
  const re = globToRegExp(pattern.replace(/^\.?\//, ''));
  return (rel) => re.test(rel);
}
