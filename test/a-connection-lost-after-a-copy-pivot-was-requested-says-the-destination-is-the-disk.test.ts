// A copy's "pivot requested": the connection is lost right after job-complete. The CLI must
// say that the disk may now run on the destination (not on a commit's base), how to check, and
// never that the source still reads right. QEMU did pivot here, which the test checks.
import path from 'node:path';
import t from 'tap';
import { resolveDisk } from '../src/internal.js';
import { runCli } from './helpers/cli.js';
import { startGuestLosingTheLineAfterComplete } from './helpers/fault-proxy.js';

t.test("connection lost right after the copy's job-complete", async (t) => {
  const { dir, client, proxy } = await startGuestLosingTheLineAfterComplete(t);
  const dest = path.join(dir, 'copy.qcow2');
  const pivoted = client.waitForEvent('BLOCK_JOB_COMPLETED', () => true, { timeoutMs: 30_000 });
  const result = await runCli(['copy', 'drive0', '--dest', dest, '--pivot', '--socket', proxy.path]);
  await pivoted;
  t.equal(result.code, 1, 'the command cannot confirm the pivot: exit 1');
  t.match(
    result.stderr,
    /copy job 'copy-drive0' on drive0 was interrupted after the pivot was requested/,
    `the state is "pivot requested"; stderr: ${result.stderr}`,
  );
  t.match(
    result.stderr,
    new RegExp(`the disk now runs on ${dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} and the guest writes into it`),
    'it says where the data is: the destination',
  );
  t.notMatch(result.stderr, /commit's base|still reads? right/, "neither a commit's words nor that the source still reads right");
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    [dest],
    'QEMU did pivot: the message was right',
  );
});
