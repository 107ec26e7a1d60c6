// Once job-complete is sent the state is "pivot requested": if the connection is lost then,
// QEMU may well have pivoted and the guest now writes into base. The CLI must say so — base is the
// disk, do not boot from the old top, check with `chain` — and never advise that the top still
// reads right. Here QEMU did pivot, which the test checks through its own monitor.
import t from 'tap';
import { resolveDisk } from '../src/internal.js';
import { runCli } from './helpers/cli.js';
import { startGuestLosingTheLineAfterComplete } from './helpers/fault-proxy.js';

t.test('connection lost right after job-complete', async (t) => {
  const { client, layers, proxy } = await startGuestLosingTheLineAfterComplete(t);
  const pivoted = client.waitForEvent('BLOCK_JOB_COMPLETED', () => true, { timeoutMs: 30_000 });
  const result = await runCli(['commit', 'drive0', '--active', '--pivot', '--socket', proxy.path]);
  await pivoted;
  t.equal(result.code, 1, 'the command cannot confirm the pivot: exit 1');
  t.match(
    result.stderr,
    /commit job 'commit-drive0' on drive0 was interrupted after the pivot was requested/,
    `the state is "pivot requested"; stderr: ${result.stderr}`,
  );
  t.match(
    result.stderr,
    new RegExp(`the disk now runs on base ${layers[0]!.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} and the guest writes into it`),
    'it says where the data is',
  );
  t.match(result.stderr, /Check which image the disk runs on with 'chain drive0'/, 'and how to check');
  t.notMatch(result.stderr, /still reads? right/, 'never that the old top still reads right');
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    [layers[0]!.file],
    'QEMU did pivot: the message was right to say base is the disk',
  );
});
