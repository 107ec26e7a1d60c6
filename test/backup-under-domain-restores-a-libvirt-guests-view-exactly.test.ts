// `backup --domain`: a booted libvirt guest on a qcow2 disk gets a quiesced checkpoint c0 through
// libvirt's agent, a full backup, writes a file (guest-exec through the agent), is paused, and gets
// an incremental since c0 starting c1. The incremental rebased onto the full reads exactly what the
// paused guest's disk reads (qemu-img compare), and c1 is on its disk. Disks are named as libvirt names them.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { runCli } from './helpers/cli.js';
import { guestKernel, makeExt4Disk } from './helpers/guest.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI, virsh } from './helpers/libvirt.js';
import { tempDir } from './helpers/qemu.js';

const run = promisify(execFile);
const kernel = guestKernel(t);

if (kernel && (await libvirtOrSkip(t))) {
  t.test('full and incremental backup of a libvirt guest', async (t) => {
    const dir = tempDir(t);
    const raw = path.join(dir, 'vda.raw');
    const disk = path.join(dir, 'vda.qcow2');
    const [full, inc] = [path.join(dir, 'full.qcow2'), path.join(dir, 'inc.qcow2')];
    await makeExt4Disk(raw);
    // Checkpoints are persistent bitmaps, which live in qcow2 images.
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, disk]);
    const domain = await createDomain(t, { disk, format: 'qcow2', boot: { kernel: kernel.vmlinuz, initrd: kernel.initrd }, agent: true });
    const agent = async (execute: string, args?: object): Promise<Record<string, unknown>> => {
      const reply = await virsh('qemu-agent-command', domain.name, '--timeout', '5', JSON.stringify({ execute, ...(args ? { arguments: args } : {}) }));
      return (JSON.parse(reply) as { return: Record<string, unknown> }).return;
    };
    // libvirt's agent connection works once the guest's init started qemu-ga (bounded: 90 s).
    const deadline = Date.now() + 90_000;
    while (
      !(await agent('guest-ping').then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error('the guest agent never answered through libvirt');
      await new Promise((resolve) => setTimeout(resolve, 500)); // boot progress has no event to wait on
    }
    const cli = (...args: string[]) => runCli(['--domain', domain.name, '--connect', LIBVIRT_URI, ...args], 120_000);

    const made = await cli('checkpoint', 'create', 'c0', '--quiesce');
    t.equal(made.code, 0, `a quiesced checkpoint through libvirt's agent; stderr: ${made.stderr}`);
    t.match(made.stdout, /^Quiesced: froze \/mnt \(ext4 on .*\) for \d+ ms, thawed$/m, `names the frozen filesystem: ${made.stdout}`);
    t.match(made.stdout, /^Checkpoint c0 created on vda \(.*vda\.qcow2\)$/m, 'on vda, the disk as libvirt names it');
    t.equal(await agent('guest-fsfreeze-status'), 'thawed', 'the guest is thawed');
    const first = await cli('backup', 'vda', '--target', full);
    t.match(first, { code: 0, stdout: /^Backup of vda complete: .*full\.qcow2$/m }, `the full backup: ${first.stderr}`);

    // The guest writes 3 MiB and syncs; the agent's guest-exec is polled until the command exited.
    const { pid } = await agent('guest-exec', { path: '/bin/sh', arg: ['-c', 'head -c 3145728 /dev/urandom >/mnt/new && sync'] });
    const execDeadline = Date.now() + 60_000;
    for (;;) {
      const status = await agent('guest-exec-status', { pid });
      if (status.exited) {
        t.equal(status.exitcode, 0, 'the guest wrote /mnt/new');
        break;
      }
      if (Date.now() > execDeadline) throw new Error('the guest never finished writing');
      await new Promise((resolve) => setTimeout(resolve, 200)); // guest-exec has no completion event
    }
    // Paused: what its disk reads now is the guest view the incremental must restore.
    await virsh('suspend', domain.name);
    const second = await cli('backup', 'vda', '--target', inc, '--incremental', 'c0', '--checkpoint', 'c1');
    t.match(second, { code: 0, stdout: /checkpoint c1 starts where it ends$/m }, `the incremental: ${second.stderr}`);
    t.match((await cli('checkpoint', 'list', 'vda')).stdout, /^c1 +vda\[\d+\] +\S*vda\.qcow2 /m, 'c1 lives on the guest disk');

    await run('qemu-img', ['rebase', '-u', '-b', full, '-F', 'qcow2', inc]);
    const compared = await run('qemu-img', ['compare', '-U', '-f', 'qcow2', '-F', 'qcow2', inc, disk]).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    t.equal(compared.code, 0, `the incremental on the full reads exactly what the guest's disk reads: ${compared.out}`);
    const { stdout } = await run('qemu-img', ['map', '-U', '--output=json', inc]);
    const own = (JSON.parse(stdout) as Array<{ length: number; data: boolean; depth: number }>).filter((e) => e.data && e.depth === 0);
    const bytes = own.reduce((n, e) => n + e.length, 0);
    t.ok(bytes >= 3 * 2 ** 20 && bytes < 16 * 2 ** 20, `the incremental holds the guest's 3 MiB and its metadata, not the disk: ${bytes} bytes`);
  });
}
