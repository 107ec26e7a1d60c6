// The most common libvirt guest: its disk already had a backing chain when it started, so libvirt
// numbers it from the top (vda[1] = active … vda[4] = base). Both seed procedures work through
// --domain when images are named by libvirt's index, by file or by libvirt's node name, and the
// data ends up where it should (read back with qemu-io after the guest is gone).
import { existsSync } from 'node:fs';
import t, { type Test } from 'tap';
import { qemuIo } from '../src/transport/qemu-img.js';
import { expectedView, readChecks } from './helpers/chain.js';
import { jsonLines, runCli } from './helpers/cli.js';
import { seedChainDomain } from './helpers/libvirt-chain.js';
import { libvirtOrSkip, LIBVIRT_URI } from './helpers/libvirt.js';
import { tempDir } from './helpers/qemu.js';

type Chain = { layers: Array<{ index: number; file: string; nodeName: string }> };

async function guest(t: Test) {
  const dir = tempDir(t);
  const g = await seedChainDomain(t, dir);
  const cli = (...args: string[]) => runCli(['--domain', g.domain.name, '--connect', LIBVIRT_URI, ...args], 120_000);
  const chain = async (): Promise<Chain> => jsonLines((await cli('chain', 'vda', '--json')).stdout)[0] as unknown as Chain;
  return { ...g, dir, cli, chain };
}

if (await libvirtOrSkip(t)) {
  // Each subtest has its own images and domain (a unique name) and mostly waits on libvirt and
  // QEMU: three at a time (buffered).
  t.jobs = 3;
  t.test('libvirt numbers a chain found at start from the top', async (t) => {
    const g = await guest(t);
    const chain = await g.chain();
    t.same(
      chain.layers.map((l) => [l.index, l.file]),
      [
        [1, g.files[3]],
        [2, g.files[2]],
        [3, g.files[1]],
        [4, g.files[0]],
      ],
      "chain vda shows libvirt's indices, active = 1",
    );
    const help = await runCli(['chain', '--help']);
    t.notMatch(help.stdout, /base = 1\)/, 'chain --help must not promise base = 1 (not true under libvirt)');
  });

  const intermediate: Array<[string, (c: Chain) => [string, string]]> = [
    ['libvirt index', () => ['vda[4]', 'vda[2]']],
    ['file', (c) => [c.layers[3]!.file, c.layers[1]!.file]],
    ['node name', (c) => [c.layers[3]!.nodeName, c.layers[1]!.nodeName]],
  ];
  for (const [how, pick] of intermediate) {
    t.test(`seed procedure B (intermediate commit of a and b into base) by ${how}`, async (t) => {
      const g = await guest(t);
      const [base, top] = pick(await g.chain());
      const result = await g.cli('commit', 'vda', '--base', base, '--top', top, '--wait', '--verbose');
      t.equal(result.code, 0, `the commit should run; stderr: ${result.stderr}`);
      t.match(result.stdout, /^Commit complete$/m, "virsh's closing words");
      t.same(
        (await g.chain()).layers.map((l) => l.file),
        [g.files[3], g.files[0]],
        'c now sits directly on base',
      );
      await g.domain.destroy();
      await t.resolves(qemuIo(g.files[3], readChecks(expectedView(g.layers)), { format: 'qcow2' }), 'c still reads what the guest saw');
    });
  }

  t.test("seed procedure A (active commit + pivot) with --delete, then blocks shows only the guest's disk", async (t) => {
    const g = await guest(t);
    const result = await g.cli('commit', 'vda', '--active', '--pivot', '--verbose', '--delete');
    t.equal(result.code, 0, `active commit + pivot should work; stderr: ${result.stderr}`);
    t.match(result.stdout, /^Successfully pivoted$/m, "virsh's closing words");
    for (const file of g.files.slice(1)) {
      t.match(result.stdout, new RegExp(`^Deleted: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `the output names ${file}`);
      t.notOk(existsSync(file), `${file} left the chain and is deleted, as virsh --delete does`);
    }
    t.same(
      (await g.chain()).layers.map((l) => l.file),
      [g.files[0]],
      'the guest runs on base alone',
    );
    const blocks = await g.cli('blocks');
    t.same(
      blocks.stdout
        .trim()
        .split('\n')
        .slice(2)
        .map((l) => l.trim().split(/\s+/)[0]),
      ['vda'],
      'nodes the pivot left behind are no disks',
    );
    await g.domain.destroy();
    await t.resolves(qemuIo(g.files[0], readChecks(expectedView(g.layers)), { format: 'raw' }), 'base holds everything the guest saw');
  });

  t.test('--active with a top that is not the active layer is refused (virsh: "not active"), nothing starts', async (t) => {
    const g = await guest(t);
    const result = await g.cli('commit', 'vda', '--active', '--top', 'vda[2]', '--wait');
    t.equal(result.code, 1, 'refused');
    t.match(result.stderr, /active commit requested but \[2\] .*b\.qcow2 is not active/, "virsh's reason");
    t.equal((await g.cli('jobs')).stdout.trim(), 'No block jobs', 'no job was started');
    t.equal((await g.chain()).layers.length, 4, 'the chain is unchanged');
  });

  t.test('the disk by its source path, as virsh accepts it', async (t) => {
    const g = await guest(t);
    const result = await g.cli('commit', g.files[3], '--active', '--pivot');
    t.equal(result.code, 0, `commit by source path should work; stderr: ${result.stderr}`);
    t.same(
      (await g.chain()).layers.map((l) => l.file),
      [g.files[0]],
      'pivoted onto base',
    );
  });
}
