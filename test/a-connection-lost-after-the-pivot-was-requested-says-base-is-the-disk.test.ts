// Once block-job-complete is sent the state is "pivot requested": if the connection is lost then,
// QEMU may well have pivoted and the guest now writes into base. The CLI must say so — base is the
// disk, do not boot from the old top, check with `chain` — and never advise that the top still
// reads right. Here QEMU did pivot, which the test checks through its own monitor.
import path from 'node:path';
import t from 'tap';
import { resolveDisk } from '../src/internal.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startFaultProxy } from './helpers/fault-proxy.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('connection lost right after block-job-complete', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  // QEMU carries out block-job-complete; neither its reply nor the job's last events reach the CLI: the connection drops instead.
  let completeId: unknown;
  const proxy = await startFaultProxy(dir, cli, {
    toQemu: (line) => {
      const message = JSON.parse(line) as { execute?: string; id?: unknown };
      if (message.execute === 'block-job-complete') completeId = message.id;
      return [line];
    },
    fromQemu: (line) => {
      if (completeId === undefined) return [line];
      // From the complete on, nothing reaches the CLI (events of the pivot included); at its reply, the line drops.
      if ((JSON.parse(line) as { id?: unknown }).id === completeId) setImmediate(() => proxy.cut());
      return [];
    },
  });
  t.teardown(proxy.close);
  const pivoted = client.waitForEvent('BLOCK_JOB_COMPLETED', () => true, { timeoutMs: 30_000 });
  const result = await runCli(['commit', 'drive0', '--active', '--pivot', '--socket', proxy.path]);
  await pivoted;
  t.equal(result.code, 1, 'the command cannot confirm the pivot: exit 1');
  t.match(result.stderr, /commit job 'commit-drive0' on drive0 was interrupted after the pivot was requested/, `the state is "pivot requested"; stderr: ${result.stderr}`);
  t.match(result.stderr, new RegExp(`the disk now runs on base ${layers[0]!.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} and the guest writes into it`), 'it says where the data is');
  t.match(result.stderr, /Check which image the disk runs on with 'chain drive0'/, 'and how to check');
  t.notMatch(result.stderr, /still reads? right/, 'never that the old top still reads right');
  t.same((await resolveDisk(client, 'drive0')).layers.map((l) => l.file), [layers[0]!.file], 'QEMU did pivot: the message was right to say base is the disk');
});
