// A pull on a running virtio guest that keeps writing: the guest's writes during the job land in
// the active image and are not overwritten by the older data being pulled up from below.
import path from 'node:path';
import t from 'tap';
import { qemuIo, resolveDisk } from '../src/internal.js';
import { expectedView, readChecks, type Layer } from './helpers/chain.js';
import { extraMonitorArgs, runCli, startCli, waitForLine, finished } from './helpers/cli.js';
import { startBaseOnlyGuest } from './helpers/base-guest.js';
import { tempDir } from './helpers/qemu.js';

t.test('guest writes while a throttled pull runs', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const { client, qemu, base } = await startBaseOnlyGuest(t, dir, { pattern: [0, 8, 0x41], extraArgs: extraMonitorArgs(cli) });
  const top = path.join(dir, 'top.qcow2');
  const snap = await runCli(['snapshot', 'vda', '--file', top, '--socket', cli]);
  t.equal(snap.code, 0, `an overlay on the running guest; stderr: ${snap.stderr}`);
  const write = async (pattern: number, offMiB: number, lenMiB: number): Promise<void> => {
    const out = await client.execute('human-monitor-command', {
      'command-line': `qemu-io -d /machine/peripheral/vda/virtio-backend "write -P ${pattern} ${offMiB}M ${lenMiB}M"`,
    });
    t.notMatch(out, /error/i, `the guest's write lands: ${out}`);
  };
  const pull = startCli(['pull', 'vda', '--wait', '--bandwidth', '1', '--json', '--socket', cli]);
  t.teardown(() => pull.kill('SIGKILL'));
  const done = finished(pull, 60_000);
  await waitForLine(pull, (line) => line.includes('"type":"started"'));
  // While base's 0x41 is being pulled up: the guest overwrites part of it, and writes fresh data.
  await write(0x45, 2, 2);
  await write(0x46, 9, 1);
  const fast = await runCli(['job', 'vda', '--bandwidth', '0', '--socket', cli]);
  t.equal(fast.code, 0, `the pull is let go at full speed; stderr: ${fast.stderr}`);
  const result = await done;
  t.equal(result.code, 0, `the pull completes; stderr: ${result.stderr}`);
  t.same(
    (await resolveDisk(client, 'vda')).layers.map((l) => l.file),
    [top],
    'the active image stands alone',
  );
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  const layers: Layer[] = [
    { file: base, format: 'raw', writes: [[0, 8, 0x41]] },
    {
      file: top,
      format: 'qcow2',
      writes: [
        [2, 2, 0x45],
        [9, 1, 0x46],
      ],
    },
  ];
  await t.resolves(
    qemuIo(top, readChecks(expectedView(layers)), { format: 'qcow2' }),
    'top.qcow2 holds the pulled data and every write of the guest, each MiB right',
  );
});
