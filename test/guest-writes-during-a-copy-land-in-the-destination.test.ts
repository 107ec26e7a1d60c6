// A running virtio guest that writes while a copy is in its synchronized phase: every write lands
// in the destination too, so after the pivot the destination holds the old data and the new.
import path from 'node:path';
import t from 'tap';
import { qemuIo } from '../src/internal.js';
import { expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startBaseOnlyGuest } from './helpers/base-guest.js';
import { tempDir } from './helpers/qemu.js';

t.test('guest writes while a copy is ready', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const { client, qemu } = await startBaseOnlyGuest(t, dir, { pattern: [0, 8, 0x41], extraArgs: extraMonitorArgs(cli) });
  const dest = path.join(dir, 'copy.qcow2');
  const ready = await runCli(['copy', 'vda', '--dest', dest, '--wait', '--socket', cli]);
  t.equal(ready.code, 0, `the copy reaches READY; stderr: ${ready.stderr}`);
  const write = async (pattern: number, offMiB: number, lenMiB: number): Promise<void> => {
    const out = await client.execute('human-monitor-command', {
      'command-line': `qemu-io -d /machine/peripheral/vda/virtio-backend "write -P ${pattern} ${offMiB}M ${lenMiB}M"`,
    });
    t.notMatch(out, /error/i, `the guest's write lands: ${out}`);
  };
  // Over the copied data, and where the source held nothing.
  await write(0x45, 2, 2);
  await write(0x46, 9, 1);
  const pivot = await runCli(['job', 'vda', '--pivot', '--socket', cli]);
  t.equal(pivot.code, 0, `the pivot succeeds; stderr: ${pivot.stderr}`);
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  const view = expectedView([
    {
      file: '',
      format: 'raw',
      writes: [
        [0, 8, 0x41],
        [2, 2, 0x45],
        [9, 1, 0x46],
      ],
    },
  ]);
  await t.resolves(qemuIo(dest, readChecks(view), { format: 'qcow2' }), 'copy.qcow2 holds the copied data and every write of the guest, each MiB right');
});
