// `virsh blockcommit --active --wait` leaves libvirt's own job at READY; `job vda --pivot` then
// pivots it. libvirt dismisses its jobs itself and updates its XML, so that is a success (exit 0, no
// "Job not found", no warning that libvirt is stale), and base holds the data.
import t from 'tap';
import { qemuIo } from '../src/transport/qemu-img.js';
import { expectedView, readChecks } from './helpers/chain.js';
import { runCli } from './helpers/cli.js';
import { seedChainDomain } from './helpers/libvirt-chain.js';
import { libvirtOrSkip, LIBVIRT_URI, virsh } from './helpers/libvirt.js';
import { tempDir } from './helpers/qemu.js';

if (await libvirtOrSkip(t)) {
  t.test('job vda --pivot on a job virsh started', async (t) => {
    const g = await seedChainDomain(t, tempDir(t));
    await virsh('blockcommit', '--domain', g.domain.name, 'vda', '--active', '--wait');
    const info = await runCli(['--domain', g.domain.name, '--connect', LIBVIRT_URI, 'job', 'vda', '--info']);
    t.match(info.stderr + info.stdout, /Active Block Commit: \[100\.00 %\]/, `libvirt's job is an active commit at READY; got ${info.stdout} ${info.stderr}`);
    const pivot = await runCli(['--domain', g.domain.name, '--connect', LIBVIRT_URI, 'job', 'vda', '--pivot']);
    t.equal(pivot.code, 0, `a job that libvirt dismisses after our pivot is finished, not failed; stderr: ${pivot.stderr}`);
    t.match(pivot.stdout, /^Successfully pivoted$/m, "virsh's words");
    t.notMatch(pivot.stderr, /Job not found|stale/, 'no dismiss error and no stale warning: libvirt tracked its own job');
    t.match(
      await virsh('domblklist', '--domain', g.domain.name),
      new RegExp(`vda\\s+${g.files[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      "libvirt itself now names base as the disk's source",
    );
    const none = await runCli(['--domain', g.domain.name, '--connect', LIBVIRT_URI, 'job', 'vda', '--info']);
    t.same([none.code, none.stdout], [0, 'No current block job for vda\n'], 'and no job is left');
    await g.domain.destroy();
    await t.resolves(qemuIo(g.files[0], readChecks(expectedView(g.layers)), { format: 'raw' }), 'base holds everything the guest saw');
  });
}
