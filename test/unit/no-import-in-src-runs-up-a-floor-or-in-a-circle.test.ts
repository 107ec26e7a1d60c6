// The layers import one way: each file of src/ imports only from its own floor or below, as the floor
// table of docs/design.md ("Layers") says, and no files import each other in a circle. The floors are
// read from design.md itself, so the table and the code cannot drift apart; every import counts (type
// imports, re-exports and lazy import() alike).
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** design.md's floor table: `src/...` paths (a folder ends in /) and their floor, most specific first. */
function readFloors(design: string): Array<{ prefix: string; floor: number }> {
  const block = /## Layers[\s\S]*?```\n([\s\S]*?)```/.exec(design)?.[1] ?? '';
  const floors: Array<{ prefix: string; floor: number }> = [];
  let floor = 0;
  for (const line of block.split('\n')) {
    const m = /^(?:floor (\d+))?\s+(src\/\S*)/.exec(line);
    if (line.startsWith('floor ')) floor = Number(/^floor (\d+)/.exec(line)![1]);
    if (m) floors.push({ prefix: m[2]!, floor });
  }
  return floors.sort((a, b) => b.prefix.length - a.prefix.length);
}

function floorOf(file: string, floors: ReadonlyArray<{ prefix: string; floor: number }>): number | undefined {
  return floors.find((f) => (f.prefix.endsWith('/') ? file.startsWith(f.prefix) : file === f.prefix))?.floor;
}

/** Every relative import of every .ts file under src/: [from, to], both as src/… paths. */
function importGraph(): Array<[string, string]> {
  const edges: Array<[string, string]> = [];
  for (const rel of readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!rel.endsWith('.ts')) continue;
    const from = path.posix.join('src', rel.split(path.sep).join('/'));
    const text = readFileSync(path.join(root, from), 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      edges.push([from, path.posix.normalize(path.posix.join(path.posix.dirname(from), m[1]!)).replace(/\.js$/, '.ts')]);
    }
  }
  return edges;
}

/** The circles in the graph (strongly connected parts of more than one file). */
function circles(edges: ReadonlyArray<[string, string]>): string[][] {
  const next = new Map<string, string[]>();
  for (const [a, b] of edges) next.set(a, [...(next.get(a) ?? []), b]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        part.push(w);
      } while (w !== v);
      if (part.length > 1) found.push(part.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return found;
}

t.test('src/ imports run down the floors of docs/design.md, never up, never in a circle', async (t) => {
  const floors = readFloors(readFileSync(path.join(root, 'docs/design.md'), 'utf8'));
  t.ok(floors.length >= 18, `design.md's floor table should be read (got ${floors.length} entries)`);
  const edges = importGraph();
  t.ok(edges.length > 200, `the import graph should be read (got ${edges.length} imports)`);
  const files = [...new Set(edges.flat())];
  t.same(
    files.filter((f) => floorOf(f, floors) === undefined),
    [],
    "every file of src/ should be on a floor of design.md's table",
  );
  const up = edges
    .filter(([a, b]) => (floorOf(b, floors) ?? 0) > (floorOf(a, floors) ?? Infinity))
    .map(([a, b]) => `${a} (floor ${floorOf(a, floors)}) imports ${b} (floor ${floorOf(b, floors)})`);
  t.same(up, [], 'no import should run up a floor');
  t.same(circles(edges), [], 'no files should import each other in a circle');
});
