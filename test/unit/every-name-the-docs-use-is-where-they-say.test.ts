// docs/api.md, docs/guide.md and README.md stay true to the entries: every name a code block imports
// from 'qmp-blockjob' (or '/testing', '/internal', '/mock-qmp') is a run-time export or exported type of that entry,
// a name the prose says is "from `qmp-blockjob/internal`" is in internal and not at the front, and every
// job method a block calls (job.x(), again.x()) exists on the job classes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import * as front from '../../src/index.js';
import * as internal from '../../src/internal.js';
import * as testing from '../../src/testing.js';
import * as mockQmp from '../../mock-qmp/index.js';
import { CommitJob, MirrorJob, StreamJob } from '../../src/index.js';
import { repoRoot } from '../helpers/qemu.js';

const entries: Record<string, { values: Record<string, unknown>; source: string }> = {
  'qmp-blockjob': { values: front, source: 'src/index.ts' },
  'qmp-blockjob/internal': { values: internal, source: 'src/internal.ts' },
  'qmp-blockjob/testing': { values: testing, source: 'src/testing.ts' },
  'qmp-blockjob/mock-qmp': { values: mockQmp, source: 'mock-qmp/index.ts' },
};
const docs = ['docs/api.md', 'docs/guide.md', 'README.md'];
const blocks = (text: string): string[] => [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

/** Type-only names an entry exports (`type X` in its export lists, or `export type { … }`). */
function typeNames(source: string): Set<string> {
  const text = readFileSync(path.join(repoRoot, source), 'utf8');
  const names = new Set<string>();
  for (const m of text.matchAll(/\btype\s+(\w+)/g)) names.add(m[1]!);
  for (const m of text.matchAll(/export type \{([^}]*)\}/g))
    for (const n of m[1]!.split(','))
      names.add(
        n
          .trim()
          .split(/\s+as\s+/)
          .at(-1)!,
      );
  return names;
}

for (const doc of docs) {
  t.test(`${doc}: imports name what the entries export`, (t) => {
    const text = readFileSync(path.join(repoRoot, doc), 'utf8');
    for (const block of blocks(text)) {
      for (const m of block.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+'(qmp-blockjob[^']*)'/g)) {
        const entry = entries[m[3]!];
        if (!entry) {
          t.fail(`${doc} imports from ${m[3]}, which is no entry`);
          continue;
        }
        const types = typeNames(entry.source);
        for (const raw of m[2]!
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)) {
          const name = raw.replace(/^type\s+/, '');
          t.ok(name in entry.values || types.has(name), `${doc}: ${name} is exported by ${m[3]}`);
        }
      }
    }
    for (const m of text.matchAll(/\(from `qmp-blockjob\/internal`\):? `(\w+)/g)) {
      t.ok(m[1]! in internal && !(m[1]! in front), `${doc}: ${m[1]} is in qmp-blockjob/internal only, as the text says`);
    }
    t.end();
  });

  t.test(`${doc}: the job methods the blocks call exist`, (t) => {
    const text = readFileSync(path.join(repoRoot, doc), 'utf8');
    const methods = new Set<string>();
    for (const cls of [CommitJob, StreamJob, MirrorJob]) {
      for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
        for (const name of Object.getOwnPropertyNames(proto)) methods.add(name);
      }
    }
    for (const block of blocks(text)) {
      for (const m of block.matchAll(/\b(?:job|again)\.(\w+)\(/g)) t.ok(methods.has(m[1]!), `${doc}: job.${m[1]}() exists`);
    }
    t.end();
  });
}
