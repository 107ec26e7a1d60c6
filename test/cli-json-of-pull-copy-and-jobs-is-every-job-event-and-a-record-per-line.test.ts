// Under --json, `pull` and `copy` print every event of their own job, as `commit` does; `copy --pivot`
// prints records only (no bare `{}` for its human-only line); `jobs` with no job prints its `jobs`
// record. Every line is checked against schema/cli-records.schema.json (test/helpers/cli-records.ts).
import path from 'node:path';
import t from 'tap';
import { jsonLines } from './helpers/cli.js';
import { copyGuest } from './helpers/copy.js';

type Line = { type: string; event?: string; data?: { id?: string; device?: string; status?: string } };

/** The job's own events, as `event` records, by name (JOB_STATUS_CHANGE with its status). */
function eventsOf(lines: Line[], job: string): string[] {
  return lines
    .filter((l) => l.type === 'event' && (l.data?.id === job || l.data?.device === job))
    .map((l) => (l.event === 'JOB_STATUS_CHANGE' ? `${l.event} ${l.data?.status}` : l.event!));
}

t.test('pull, copy --pivot and jobs under --json', async (t) => {
  const g = await copyGuest(t);
  const none = await g.run('jobs', '--json');
  t.equal(none.code, 0, `jobs with no job should succeed; stderr: ${none.stderr}`);
  t.same(jsonLines(none.stdout), [{ type: 'jobs', count: 0 }], 'jobs with no job prints its jobs record, not nothing');

  const pull = await g.run('pull', 'drive0', '--base', g.files[1]!, '--wait', '--json');
  t.equal(pull.code, 0, `pull should complete; stderr: ${pull.stderr}`);
  const pulled = jsonLines(pull.stdout) as Line[];
  t.match(
    eventsOf(pulled, 'pull-drive0'),
    [
      'JOB_STATUS_CHANGE created',
      'JOB_STATUS_CHANGE running',
      'JOB_STATUS_CHANGE waiting',
      'JOB_STATUS_CHANGE pending',
      'BLOCK_JOB_COMPLETED',
      'JOB_STATUS_CHANGE concluded',
    ],
    "pull streams its job's events from the start on",
  );
  t.same(
    pulled.map((l) => l.type).filter((type) => type !== 'event'),
    ['started', 'message', 'result'],
    'and its records',
  );

  const dest = path.join(g.dir, 'copy.qcow2');
  const copy = await g.run('copy', 'drive0', '--dest', dest, '--pivot', '--json');
  t.equal(copy.code, 0, `copy --pivot should succeed; stderr: ${copy.stderr}`);
  const copied = jsonLines(copy.stdout) as Line[];
  t.ok(
    copied.every((l) => typeof l.type === 'string'),
    'every line has a type: no bare {}',
  );
  const own = eventsOf(copied, 'copy-drive0');
  t.same(own.slice(0, 2), ['JOB_STATUS_CHANGE created', 'JOB_STATUS_CHANGE running'], `copy streams its job's events from the start on: ${own.join(', ')}`);
  for (const event of ['BLOCK_JOB_READY', 'JOB_STATUS_CHANGE ready', 'BLOCK_JOB_COMPLETED', 'JOB_STATUS_CHANGE concluded'])
    t.ok(own.includes(event), `and ${event}`);
  t.same(
    copied.map((l) => l.type).filter((type) => type !== 'event'),
    ['started', 'message', 'result'],
    'and its records',
  );
  t.same(await g.chain(), [dest], 'the guest runs on the destination, which stands alone');
  await g.quit();
  await g.check(dest, 'qcow2');
});
