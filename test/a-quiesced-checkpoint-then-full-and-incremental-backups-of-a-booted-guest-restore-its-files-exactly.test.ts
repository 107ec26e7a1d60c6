// A booted Linux guest, backed up as a user does it: `checkpoint create c0 --quiesce` (the agent
// says "frozen" while the checkpoint's transaction is sent, "thawed" after; without an answering
// agent nothing is created), a full backup, the guest writes, renames and deletes files, then an
// incremental since c0 that starts c1. After the guest powered off, the incremental rebased onto the
// full (qemu-img rebase -u) is a clean ext4 (fsck) whose every file has the checksum the guest read
// at c1, and holds nothing the guest wrote after c1; the incremental itself holds only what changed.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { connectGuestAgent, createQuiescedCheckpoint, type BlockQueryClient, type GuestAgent } from '../src/internal.js';
import { convertImage } from '../src/transport/qemu-img.js';
import { checkImageOffline, guestKernel } from './helpers/guest.js';
import { bootGuestOnBase } from './helpers/guest-chain.js';

const run = promisify(execFile);
const kernel = guestKernel(t);

/** A client that reads the agent's freeze status when the transaction is sent, then sends it. */
function seeingTransaction(client: BlockQueryClient, during: () => Promise<void>): BlockQueryClient {
  return {
    execute: client.execute,
    executeUntyped: async (name: string, args?: Record<string, unknown>, options?: { signal?: AbortSignal }) => {
      if (name === 'transaction') await during();
      return client.executeUntyped(name, args, options);
    },
  };
}

async function dataBytes(image: string): Promise<number> {
  const { stdout } = await run('qemu-img', ['map', '-U', '--output=json', image]);
  return (JSON.parse(stdout) as Array<{ length: number; data: boolean; depth: number }>)
    .filter((e) => e.data && e.depth === 0)
    .reduce((n, e) => n + e.length, 0);
}

async function filesIn(raw: string, dir: string): Promise<string[]> {
  const { stdout } = await run('debugfs', ['-R', `ls -p ${dir}`, raw], { encoding: 'utf8' });
  return stdout
    .split('\n')
    .map((row) => row.split('/')[5] ?? '')
    .filter((n) => n && n !== '.' && n !== '..');
}

if (kernel) {
  t.test('quiesced checkpoint, full and incremental backup of a booted guest', async (t) => {
    const g = await bootGuestOnBase(t, kernel);
    const agentPath = g.guest.agentSocket!;
    const [top, full, inc] = ['top.qcow2', 'full.qcow2', 'inc.qcow2'].map((f) => path.join(g.dir, f)) as [string, string, string];
    // Persistent bitmaps live in qcow2 images: the guest goes onto a qcow2 overlay of its raw disk first.
    t.equal((await g.run('snapshot', 'vda', '--file', top)).code, 0, 'the guest runs on a qcow2 overlay');

    const missing = await g.run('checkpoint', 'create', 'c0', '--quiesce', '--agent', path.join(g.dir, 'no-agent.sock'));
    t.match(missing, { code: 1, stderr: /guest agent at .*no-agent\.sock: no guest agent socket/ }, `no agent: refused: ${missing.stderr}`);
    t.equal((await g.run('checkpoint', 'create', 'c0', '--quiesce')).code, 2, '--quiesce without --agent over a socket is a usage error');
    t.match((await g.run('checkpoint', 'list')).stdout, /^No checkpoints$/m, 'the refused checkpoints created nothing');

    const made = await g.run('checkpoint', 'create', 'c0', '--quiesce', '--agent', agentPath);
    t.equal(made.code, 0, `checkpoint create --quiesce; stderr: ${made.stderr}`);
    t.match(made.stdout, /^Quiesced: froze \/mnt \(ext4 on .*\) for \d+ ms, thawed$/m, `it says which filesystem it froze: ${made.stdout}`);
    t.match(made.stdout, new RegExp(`^Checkpoint c0 created on vda \\(${top}\\)$`, 'm'), 'and where the checkpoint lives');
    const agent: GuestAgent = await connectGuestAgent({ path: agentPath });
    t.teardown(() => agent.close());
    t.equal(await agent.execute('guest-fsfreeze-status'), 'thawed', 'the guest is thawed after the CLI');

    // The library's call, watched: frozen exactly while the checkpoint's transaction is sent.
    let during: unknown;
    const watched = await createQuiescedCheckpoint(
      seeingTransaction(g.guest.client, async () => {
        during = await agent.execute('guest-fsfreeze-status');
      }),
      'q1',
      { agent },
    );
    t.equal(during, 'frozen', 'the agent says the guest is frozen while the transaction is sent');
    t.equal(await agent.execute('guest-fsfreeze-status'), 'thawed', 'thawed afterwards');
    t.equal(watched.frozenCount, 1, 'one filesystem was frozen');
    t.same(
      watched.disks[0]?.layers.at(-1)?.bitmaps.map((b) => b.name),
      ['c0', 'q1'],
      'the quiesced checkpoint is on the active image, after c0',
    );
    agent.close();
    t.equal((await g.run('checkpoint', 'delete', 'q1')).code, 0, 'q1 is deleted (merged into c0)');

    await g.guest.writeFile('f/gone', 128);
    await g.guest.writeFile('f/renamed', 128);
    const first = await g.run('backup', 'vda', '--target', full);
    t.match(first, { code: 0, stdout: /^Backup of vda complete: .*full\.qcow2$/m }, `the full backup: ${first.stderr}`);

    await g.guest.writeFile('f/new', 512);
    await g.guest.writeFile('f/base', 96); // rewritten: a new file under the old name
    await g.guest.run('rm /mnt/f/gone && mv /mnt/f/renamed /mnt/f/moved && sync');
    g.guest.recorded.delete('f/gone');
    g.guest.recorded.set('f/moved', g.guest.recorded.get('f/renamed')!);
    g.guest.recorded.delete('f/renamed');
    await g.guest.verifyFiles(t, 'the guest view at c1');
    const atC1 = { recorded: new Map(g.guest.recorded) };

    const second = await g.run('backup', 'vda', '--target', inc, '--incremental', 'c0', '--checkpoint', 'c1');
    t.match(second, { code: 0, stdout: /^Backup of vda complete: .*inc\.qcow2; checkpoint c1 starts where it ends$/m }, `the incremental: ${second.stderr}`);
    await g.guest.writeFile('f/after-c1', 256);
    const listed = await g.run('checkpoint', 'list', 'vda');
    t.match(listed.stdout, /^c1 +vda\[\d+\] +\S*top\.qcow2 /m, `c1 lives on the active image: ${listed.stdout}`);
    t.notMatch(listed.stdout, /^q1 /m, 'q1 is gone');
    await g.guest.powerOff();

    const [fullBytes, incBytes] = [await dataBytes(full), await dataBytes(inc)];
    t.comment(`full backup ${fullBytes} bytes of data, incremental ${incBytes}`);
    // What the guest wrote since c0 (608 KiB of files, and ext4's journal and metadata), not the 64 MiB disk.
    t.ok(incBytes >= 608 * 1024 && incBytes <= 8 * 2 ** 20, `the incremental holds what changed since c0, not the disk: ${incBytes} bytes`);
    await run('qemu-img', ['rebase', '-u', '-b', full, '-F', 'qcow2', inc]);
    // fsck, and every file the guest read at c1 with its checksum, in the restored image.
    await checkImageOffline(t, inc, atC1, 'qcow2');
    const raw = `${inc}.names.raw`;
    await convertImage(inc, raw, 'raw');
    t.same((await filesIn(raw, '/f')).sort(), ['base', 'moved', 'new'], 'the restored image lists exactly the files the guest had at c1');
  });
}
