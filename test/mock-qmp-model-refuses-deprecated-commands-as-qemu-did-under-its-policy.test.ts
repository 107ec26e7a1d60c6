// A trace recorded under QEMU's deprecation policy (`-compat deprecated-input=reject`, on its header's
// command line) is modelled with it: the model answers a deprecated command as that QEMU did —
// CommandNotFound "Deprecated command block-job-complete disabled by policy" — also where
// deprecated-output=hide left the command out of the recorded schema; job-complete, its twin, pivots.
// A trace recorded without the policy takes either. Fixture sets without a policy recording skip.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { serveTrace } from './helpers/replay.js';
import { playRaw } from './helpers/raw-transcript.js';

const header = (file: string): { command?: string } => JSON.parse(readFileSync(file, 'utf8').split('\n')[0]!) as { command?: string };
const underPolicy = (set: string): boolean =>
  /\s-compat\s+\S*deprecated-input=reject/.test(header(fixturePath('active-commit-pivot.jsonl', set)).command ?? '');
const sets = fixtureSets().filter((set) => existsSync(fixturePath('active-commit-pivot.jsonl', set)));
const policySets = sets.filter(underPolicy);

// The client: the recorded commit, then at READY the deprecated verb, then its twin.
const commit = { execute: 'block-commit', arguments: { device: 'drive0', 'job-id': 'mine' } };
const steps = (verb: string, args: Record<string, unknown>) => [
  { command: { execute: 'qmp_capabilities' }, eventsBefore: 0 },
  { command: commit, eventsBefore: 0 },
  { command: { execute: verb, arguments: args }, eventsBefore: 3 }, // created, running, ready
];

for (const set of sets) {
  const policy = underPolicy(set);
  const schema = fixturePath('schema.jsonl', set);
  t.test(
    `${set}: block-job-complete at READY, ${policy ? 'refused by the recorded policy' : 'taken (no policy recorded)'}`,
    {
      skip: policy && !existsSync(schema) ? `${set} was recorded under the policy but has no schema.jsonl to tell what is deprecated` : false,
    },
    async (t) => {
      const server = await serveTrace(t, {
        trace: fixturePath('active-commit-pivot.jsonl', set),
        instant: true,
        model: true,
        ...(existsSync(schema) ? { schema } : {}),
      });
      const old = await playRaw(server.path!, steps('block-job-complete', { device: 'mine' }), { events: 3 });
      const answer = old.outcomes[2] as { error?: { class: string; desc: string } };
      if (policy)
        t.same(answer.error, { class: 'CommandNotFound', desc: 'Deprecated command block-job-complete disabled by policy' }, "QEMU's refusal under the policy");
      else t.same(answer, { return: {} }, 'block-job-complete is taken without a policy');
    },
  );
}
t.test(
  'a fixture set recorded under the deprecation policy exists',
  {
    skip: policySets.length
      ? false
      : "no fixture set was recorded under -compat deprecated-input=reject (the newest stack's, recorded with QMPBJ_QEMU_COMPAT set)",
  },
  async (t) => {
    t.ok(policySets.length > 0, policySets.join(', '));
  },
);
