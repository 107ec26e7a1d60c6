// src/jobs/kinds.ts is the one place a job kind's words and READY phase live: what `job` reads to
// follow a job (to READY or to its end) and to name it, and what `jobs` prints as its type.
import t from 'tap';
import { JOB_KINDS, jobTypeWords, kindOfJob, kindsOfType } from '../../src/jobs/kinds.js';

t.test('a QEMU job type gives its kind, its label and whether it has READY', async (t) => {
  t.same(
    [kindOfJob('commit', true), kindOfJob('commit', false), kindOfJob('stream'), kindOfJob('mirror'), kindOfJob('backup')].map((k) => [
      k?.name,
      k?.jobLabel,
      k?.hasReady,
    ]),
    [
      ['active-commit', 'Active Block Commit', true],
      ['commit', 'Block Commit', false],
      ['pull', 'Block Pull', false],
      ['copy', 'Block Copy', true],
      ['backup', 'Backup', false],
    ],
    'an active commit and a copy are followed to READY, an intermediate commit and a pull to their end',
  );
  t.equal(kindOfJob('amend'), undefined, 'a type no row drives has no kind');
  t.same(
    kindsOfType('commit').map((k) => k.name),
    ['commit', 'active-commit'],
    'a commit job is one of two kinds: READY decides',
  );
});

t.test('the words the CLI and the messages take from a row', async (t) => {
  t.same(
    Object.values(JOB_KINDS).map((k) => `${k.startNoun}|${k.title}|${k.progressLabel}`),
    ['commit|Commit|Block commit', 'commit|Commit|Block commit', 'a pull|Pull|Block Pull', 'a copy|Copy|Block Copy', 'a backup|Backup|Block Backup'],
    "virsh's words as before",
  );
  t.same(
    ['commit', 'stream', 'mirror', 'backup'].map(jobTypeWords),
    ['commit', 'stream (pull)', 'mirror (copy)', 'backup'],
    "jobs shows QEMU's type, with the command's noun where it differs",
  );
});
