// The seed procedure through libvirt: live snapshots and an active commit + pivot in raw QMP over the virsh
// transport give the same image content as libvirt's own snapshot-create-as + blockcommit --active --pivot.
import path from 'node:path';
import t from 'tap';
import type { QmpEvent } from '../src/internal.js';
import { connect } from '../src/connect.js';
import { compareImages, qemuIo } from '../src/transport/qemu-img.js';
import { createDomain, hmp, libvirtOrSkip, LIBVIRT_URI, virsh } from './helpers/libvirt.js';
import { tempDir } from './helpers/qemu.js';
import { twoImageChain } from './helpers/libvirt-chain.js';

const QDEV = '/machine/peripheral/virtio-disk0/virtio-backend';
/** [snapshot file, pattern, offset MiB, length MiB] written into each new active layer through the guest device. */
const SNAPSHOT_WRITES: Array<[string, number, number, number]> = [
  ['s1.qcow2', 0x43, 5, 2],
  ['s2.qcow2', 0x44, 0, 1],
  ['s3.qcow2', 0x45, 8, 2],
];
/** What the guest sees, per MiB, once everything is written (base 0x41 0-4, top 0x42 2-6, then the snapshots). */
const VIEW = [0x44, 0x41, 0x42, 0x42, 0x42, 0x43, 0x43, 0, 0x45, 0x45, 0, 0, 0, 0, 0, 0];

const chain = (dir: string) => twoImageChain(dir, true);

const guestWrite = (pattern: number, off: number, len: number): string => `qemu-io -d ${QDEV} "write -P ${pattern} ${off}M ${len}M"`;

if (await libvirtOrSkip(t)) {
  t.test('raw QMP snapshots + active commit through virsh equal virsh blockcommit --active --pivot', async (t) => {
    const dirA = tempDir(t);
    const dirB = tempDir(t);
    const [a, b] = await Promise.all([chain(dirA), chain(dirB)]);
    const [domA, domB] = await Promise.all([createDomain(t, { disk: a.top }), createDomain(t, { disk: b.top })]);

    // --- A: everything in raw QMP through the virsh transport
    const warnings: string[] = [];
    const client = await connect({ domain: domA.name, uri: LIBVIRT_URI, connectTimeoutMs: 20_000, onWarning: (m) => warnings.push(m) });
    t.teardown(() => client.close());
    let node = 'libvirt-1-format'; // libvirt's node for top.qcow2 (index 1 at domain start)
    for (const [i, [file, pattern, off, len]] of SNAPSHOT_WRITES.entries()) {
      const next = `qbj-s${i + 1}`;
      const snapshot = { 'node-name': node, 'snapshot-file': path.join(dirA, file), 'snapshot-node-name': next, format: 'qcow2' as const };
      if (i === 1) await client.execute('transaction', { actions: [{ type: 'blockdev-snapshot-sync', data: snapshot }] });
      else await client.execute('blockdev-snapshot-sync', snapshot);
      const written = await client.execute('human-monitor-command', { 'command-line': guestWrite(pattern, off, len) });
      t.equal(written, '', `the guest write into ${file} should be accepted`);
      node = next;
    }
    t.equal(warnings.length, 1, 'the stale-libvirt warning should be given exactly once');
    t.match(warnings[0], /libvirt/, 'the warning should talk about libvirt');

    const cursor = client.eventCursor();
    const statuses: string[] = [];
    client.on('event', (e: QmpEvent) => {
      if (e.event === 'JOB_STATUS_CHANGE' && e.data.id === 'qbj-commit') statuses.push(String(e.data.status));
    });
    await client.execute('block-commit', { 'job-id': 'qbj-commit', device: node });
    await client.waitForEvent('BLOCK_JOB_READY', { device: 'qbj-commit' }, { since: cursor, timeoutMs: 60_000 });
    await client.execute('job-complete', { id: 'qbj-commit' }); // block-job-complete is deprecated (10.1), refused under libvirt's deprecation_behavior=reject
    const completed = await client.waitForEvent('BLOCK_JOB_COMPLETED', { device: 'qbj-commit' }, { since: cursor, timeoutMs: 60_000 });
    t.equal(completed.data.error, undefined, 'the commit should complete without error');
    await client.waitForEvent('JOB_STATUS_CHANGE', { id: 'qbj-commit', status: 'null' }, { since: cursor, timeoutMs: 10_000 });
    t.same(statuses, ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'], 'the job should pass through every state in order');
    const blocks = await client.execute('query-block');
    t.equal(blocks[0]?.inserted?.['node-name'], 'libvirt-2-format', 'after the pivot the device should sit on the base node');
    t.equal(blocks[0]?.device, '', "libvirt's -blockdev disks have an empty device name");
    // What libvirt believes now (docs/libvirt.md): its view was not updated by our pivot.
    const listed = await virsh('domblklist', '--domain', domA.name);
    t.match(listed, a.top, 'libvirt should still name the old top (stale view after a QMP pivot)');
    await client.close();

    // --- B: the libvirt way
    for (const [i, [file, pattern, off, len]] of SNAPSHOT_WRITES.entries()) {
      await virsh(
        'snapshot-create-as',
        '--domain',
        domB.name,
        '--name',
        `s${i + 1}`,
        '--diskspec',
        `vda,file=${path.join(dirB, file)}`,
        '--disk-only',
        '--atomic',
        '--no-metadata',
      );
      await hmp(domB.name, guestWrite(pattern, off, len));
    }
    const pivoted = await virsh('blockcommit', '--domain', domB.name, '--path', 'vda', '--active', '--pivot');
    t.match(pivoted, /Successfully pivoted/, 'virsh blockcommit should pivot');
    t.match(await virsh('domblklist', '--domain', domB.name), b.base, 'libvirt should list the base after its own pivot');

    await Promise.all([domA.destroy(), domB.destroy()]);
    t.ok(await compareImages(a.base, b.base), 'both bases should hold the same guest-visible content');
    const checks = VIEW.map((pattern, mib) => `read -P ${pattern} ${mib}M 1M`);
    await qemuIo(a.base, checks, { format: 'qcow2' });
    t.pass('the base committed through QMP should hold every write of the chain');
  });
}
