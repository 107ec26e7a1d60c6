// `snapshot --quiesce --domain`: the freeze and thaw go through libvirt's own agent connection
// (virsh qemu-agent-command) to qemu-guest-agent in a booted Linux guest; the CLI names the frozen
// filesystem and the guest is thawed after. A domain without an agent channel: refused, nothing created.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createImage } from '../src/transport/qemu-img.js';
import { runCli } from './helpers/cli.js';
import { guestKernel, makeExt4Disk } from './helpers/guest.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI, virsh } from './helpers/libvirt.js';
import { tempDir } from './helpers/qemu.js';

const kernel = guestKernel(t);
if (kernel && (await libvirtOrSkip(t))) {
  t.test('quiesced snapshot of a libvirt guest, then one refused without an agent', async (t) => {
    const dir = tempDir(t);
    const disk = path.join(dir, 'base.raw');
    await makeExt4Disk(disk);
    const domain = await createDomain(t, { disk, format: 'raw', boot: { kernel: kernel.vmlinuz, initrd: kernel.initrd }, agent: true });
    const agentCall = (command: string): Promise<string> => virsh('qemu-agent-command', domain.name, '--timeout', '5', JSON.stringify({ execute: command }));
    // libvirt's agent connection works once the guest's init started qemu-ga (bounded: 90 s).
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (
        await agentCall('guest-ping').then(
          () => true,
          () => false,
        )
      )
        break;
      if (Date.now() > deadline) throw new Error('the guest agent never answered through libvirt');
      await new Promise((resolve) => setTimeout(resolve, 500)); // boot progress has no event to wait on
    }
    const cli = (...args: string[]) => runCli(['--domain', domain.name, '--connect', LIBVIRT_URI, ...args], 120_000);
    const file = path.join(dir, 'q1.qcow2');
    const made = await cli('snapshot', 'vda', '--file', file, '--quiesce');
    t.equal(made.code, 0, `quiesced snapshot through libvirt's agent; stderr: ${made.stderr}`);
    t.match(made.stdout, /^Quiesced: froze \/mnt \(ext4 on .*\) for \d+ ms, thawed$/m, `names the frozen filesystem: ${made.stdout}`);
    t.match(await agentCall('guest-fsfreeze-status'), /"return":\s*"thawed"/, 'the guest is thawed');
    // libvirt's own view is stale after a snapshot behind its back (docs/libvirt.md): QEMU's is read.
    t.match((await cli('chain', 'vda')).stdout, file, 'vda runs on the overlay');

    const plain = path.join(dir, 'plain.raw');
    await createImage(plain, { format: 'raw', size: '16M' });
    const bare = await createDomain(t, { disk: plain, format: 'raw' });
    const nope = path.join(dir, 'nope.qcow2');
    const refused = await runCli(['--domain', bare.name, '--connect', LIBVIRT_URI, 'snapshot', 'vda', '--file', nope, '--quiesce']);
    t.equal(refused.code, 1, 'a domain without an agent channel: refused');
    t.match(refused.stderr, /guest agent at domain .*: the agent does not answer/, `a clear error: ${refused.stderr}`);
    t.notOk(existsSync(nope), 'nothing created');
    t.notMatch((await runCli(['--domain', bare.name, '--connect', LIBVIRT_URI, 'chain', 'vda'])).stdout, /nope/, 'its chain is unchanged');
  });
}
