// The ```ts blocks of a Markdown document, each a complete program, and the lines each says it
// prints: a comment `// → text` is one line of its output, in order (`…` stands for anything).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './qemu.js';

export interface DocBlock {
  /** A file name for the block: doc and line, e.g. `docs-api-md-L52`. */
  name: string;
  /** Where it is, for messages: `docs/api.md:52`. */
  where: string;
  code: string;
  /** The lines it says it prints, in order. */
  prints: string[];
}

export function docBlocks(doc: string): DocBlock[] {
  const text = readFileSync(path.join(repoRoot, doc), 'utf8');
  const blocks: DocBlock[] = [];
  for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    const line = text.slice(0, m.index).split('\n').length + 1;
    const code = m[1] ?? '';
    const prints = [...code.matchAll(/\/\/\s*→ (.*)$/gm)].map((p) => (p[1] ?? '').trimEnd());
    blocks.push({ name: `${doc.replace(/[/.]/g, '-')}-L${line}`, where: `${doc}:${line}`, code, prints });
  }
  return blocks;
}

/**
 * Code of the library in a document that would escape the test: a fence tagged as JavaScript or
 * TypeScript other than ```ts, or an untagged one that imports the library. Returns where each is.
 */
export function untestedCode(doc: string): string[] {
  const text = readFileSync(path.join(repoRoot, doc), 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^```(\S*)[^\n]*\n([\s\S]*?)^```$/gm)) {
    const [, lang = '', code = ''] = m;
    const line = text.slice(0, m.index).split('\n').length;
    if (/^(typescript|tsx?|js|jsx|javascript|mjs|cjs|mts)$/.test(lang) && lang !== 'ts') found.push(`${doc}:${line} (${lang})`);
    else if (lang === '' && /from 'qmp-blockjob/.test(code)) found.push(`${doc}:${line} (untagged)`);
    else if (lang === 'ts' && m[0].split('\n')[0] !== '```ts') found.push(`${doc}:${line} (ts with more on its fence line)`);
  }
  return found;
}

/** A line's pattern: `…` matches anything, the rest literally. */
const pattern = (expected: string): RegExp =>
  new RegExp(
    `^${expected
      .split('…')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/**
 * The first expected line that the output does not print (in order, other lines between them
 * allowed), or undefined when it prints them all.
 */
export function missingLine(prints: readonly string[], stdout: string): string | undefined {
  const lines = stdout.split('\n').map((l) => l.trimEnd());
  let at = 0;
  for (const expected of prints) {
    const re = pattern(expected);
    while (at < lines.length && !re.test(lines[at]!)) at++;
    if (at === lines.length) return expected;
    at++;
  }
  return undefined;
}
