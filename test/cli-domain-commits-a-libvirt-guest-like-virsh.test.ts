// `qmp-blockjob --domain vm1 …` on a real libvirt guest: libvirt's vda[N] indices address the images a
// virsh user means, an intermediate and then an active commit + pivot run through virsh's monitor,
// the user is warned once that libvirt's view is now stale, and every byte ends up in base.
import path from 'node:path';
import t from 'tap';
import { qemuIo } from '../src/transport/qemu-img.js';
import { twoImageChain } from './helpers/libvirt-chain.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI, virsh } from './helpers/libvirt.js';
import { tempDir } from './helpers/qemu.js';
import { jsonLines, runCli } from './helpers/cli.js';

if (await libvirtOrSkip(t)) {
  t.test('libvirt snapshots, then commit by libvirt index and active commit --pivot through --domain', async (t) => {
    const dir = tempDir(t);
    const { base, top } = await twoImageChain(dir, true);
    const domain = await createDomain(t, { disk: top });
    // Two more layers the libvirt way, so libvirt's indices are its own (not positions).
    for (const name of ['s1', 's2']) {
      await virsh(
        'snapshot-create-as',
        '--domain',
        domain.name,
        name,
        '--diskspec',
        `vda,file=${path.join(dir, `${name}.qcow2`)}`,
        '--disk-only',
        '--atomic',
        '--no-metadata',
      );
    }
    const cli = (...args: string[]) => runCli(['--domain', domain.name, '--connect', LIBVIRT_URI, ...args], 120_000);

    const chain = await cli('chain', 'vda', '--json');
    t.equal(chain.code, 0, `chain should work through --domain; stderr: ${chain.stderr}`);
    const layers = (jsonLines(chain.stdout)[0] as { layers: Array<{ index: number; file: string }> }).layers;
    t.same(
      layers.map((l) => path.basename(l.file)),
      ['s2.qcow2', 's1.qcow2', 'top.qcow2', 'base.qcow2'],
      'the chain should be the live one, active first',
    );
    const dumpIndex = (file: string): number => layers.find((l) => l.file === file)!.index;
    const xml = await virsh('dumpxml', '--domain', domain.name);
    for (const file of [base, top, path.join(dir, 's1.qcow2')]) {
      t.match(
        xml,
        new RegExp(`index='${dumpIndex(file)}'[\\s\\S]{0,200}${path.basename(file)}|${path.basename(file)}[\\s\\S]{0,200}index='${dumpIndex(file)}'`),
        `vda[N] for ${path.basename(file)} should be libvirt's own index`,
      );
    }
    t.notSame(
      layers.map((l) => l.index),
      [4, 3, 2, 1],
      'libvirt indices should not simply be positions',
    );

    const blocks = await cli('blocks');
    t.match(blocks.stdout, /^ vda\s+.*s2\.qcow2$/m, "blocks should name the disk by libvirt's target");

    const intermediate = await cli(
      'commit',
      'vda',
      '--top',
      `vda[${dumpIndex(path.join(dir, 's1.qcow2'))}]`,
      '--base',
      `vda[${dumpIndex(base)}]`,
      '--wait',
      '--verbose',
    );
    t.equal(intermediate.code, 0, `the intermediate commit should succeed; stderr: ${intermediate.stderr}`);
    t.match(intermediate.stdout, /^Commit complete$/m, "virsh's closing words");
    t.match(intermediate.stderr, /warning: .*libvirt/, "the user should be warned that libvirt's view is stale");

    const active = await cli('commit', 'vda', '--active', '--pivot', '--verbose');
    t.equal(active.code, 0, `the active commit should succeed; stderr: ${active.stderr}`);
    t.match(active.stdout, /^Successfully pivoted$/m, "virsh's closing words");
    const after = jsonLines((await cli('chain', 'vda', '--json')).stdout)[0] as { layers: Array<{ file: string }> };
    t.same(
      after.layers.map((l) => l.file),
      [base],
      'the guest should run on base alone',
    );

    await domain.destroy();
    // base 0x41 at 0-3, top 0x42 at 2-5: what the guest saw, now all in base.
    const view = [0x41, 0x41, 0x42, 0x42, 0x42, 0x42, ...new Array<number>(10).fill(0)];
    await t.resolves(
      qemuIo(
        base,
        view.map((b, m) => `read -P ${b} ${m}M 1M`),
        { format: 'qcow2' },
      ),
      'every MiB of base should read what the guest saw',
    );
  });
}
