// The JSON Schema of what `qmp-blockjob --json` prints, made from the one TypeScript union of its
// records (`CliRecord`, src/cli/records.ts). `npm run schema` writes schema/cli-records.schema.json;
// `--check` only compares (a unit test runs it, so the committed schema cannot drift from the type).
import { createGenerator } from 'ts-json-schema-generator';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'schema', 'cli-records.schema.json');

export function makeSchema() {
  const generated = createGenerator({
    path: path.join(root, 'src', 'cli', 'records.ts'),
    tsconfig: path.join(root, 'tsconfig.json'),
    type: 'CliRecord',
    expose: 'export',
    topRef: true,
    jsDoc: 'extended',
    additionalProperties: false,
    skipTypeCheck: true,
    sortProps: true,
  }).createSchema('CliRecord');
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'qmp-blockjob --json record',
    description: 'One line of `qmp-blockjob --json` output: a JSON object whose `type` says which record it is (src/cli/records.ts).',
    ...Object.fromEntries(Object.entries(generated).filter(([key]) => key !== '$schema')),
  };
}

const text = `${JSON.stringify(makeSchema(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(out, 'utf8');
  } catch {}
  if (committed !== text) {
    process.stderr.write(`schema/cli-records.schema.json is not what src/cli/records.ts makes: run 'npm run schema' and commit it\n`);
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
}
