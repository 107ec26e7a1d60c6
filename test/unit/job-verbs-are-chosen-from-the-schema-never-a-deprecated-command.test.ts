// The commands a job sends for complete / pause / resume / finalize / dismiss come from QEMU's own
// schema: on every recorded schema (each QEMU the fixtures were recorded on) the job-* commands, and
// never one the schema marks deprecated (QEMU 10.1 deprecated block-job-complete and its siblings).
// A schema without job-* (none we support, but the rule must not guess) keeps block-job-*.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { chooseJobVerbs, schemaFrom, type SchemaInfo } from '../../src/protocol/capabilities.js';
import { fixtureSets, recordedReturns } from './helpers/recorded.js';

const VERBS = ['complete', 'pause', 'resume', 'finalize', 'dismiss'] as const;

for (const set of fixtureSets()) {
  const rawDir = path.join(set.dir, 'raw');
  if (!existsSync(rawDir)) continue; // a set recorded without the raw client's transcripts has no schema
  const schemas = readdirSync(rawDir).flatMap((f) => recordedReturns(path.join(rawDir, f), 'query-qmp-schema')) as SchemaInfo[][];
  t.test(`${set.name}: the recorded schema chooses job-* for every verb, none deprecated`, async (t) => {
    t.ok(schemas.length > 0, `some raw fixture of ${set.name} recorded query-qmp-schema`);
    const schema = schemaFrom(schemas[0]!);
    const verbs = chooseJobVerbs(schema);
    t.same(
      VERBS.map((v) => verbs[v]),
      VERBS.map((v) => ({ command: `job-${v}`, key: 'id' })),
      'job-X with the job named by id',
    );
    for (const v of VERBS) t.notOk(schema.deprecatedCommands.has(verbs[v].command), `${verbs[v].command} is not deprecated in ${set.name}`);
    t.notOk(
      schema.deprecatedCommands.has('block-job-cancel') || schema.deprecatedCommands.has('block-job-set-speed'),
      'block-job-cancel and -set-speed, which the jobs keep, are not deprecated',
    );
  });
}

const entry = (name: string, deprecated = false): SchemaInfo => ({
  name,
  'meta-type': 'command',
  'arg-type': '0',
  ...(deprecated ? { features: ['deprecated'] } : {}),
});

t.test('the rule, on schemas no QEMU we support has', async (t) => {
  const only = (names: SchemaInfo[]) => chooseJobVerbs(schemaFrom(names)).complete;
  t.same(only([entry('block-job-complete')]), { command: 'block-job-complete', key: 'device' }, 'without job-complete: block-job-complete, by device');
  t.same(
    only([entry('block-job-complete', true), entry('job-complete')]),
    { command: 'job-complete', key: 'id' },
    'QEMU 10.1 and later: block-job-complete deprecated, job-complete',
  );
  t.same(
    only([entry('block-job-complete'), entry('job-complete', true)]),
    { command: 'block-job-complete', key: 'device' },
    'job-complete deprecated and block-job-complete not: block-job-complete',
  );
  t.same(
    only([entry('block-job-complete', true), entry('job-complete', true)]),
    { command: 'job-complete', key: 'id' },
    'both deprecated: job-complete, still there',
  );
  t.same(only([]), { command: 'job-complete', key: 'id' }, 'an empty schema (a peer that could not say): job-complete');
});
