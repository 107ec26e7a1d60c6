// The second seed: `commit DISK --base X --top Y --wait`, with X and Y as DISK[N], file names or node
// names, on -drive and bare -blockdev chains: the chain becomes base <- top, the guest view unchanged.
import path from 'node:path';
import t from 'tap';
import { listDisks, findDisk, qemuIo } from '../src/internal.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain, blockdevChainArgs, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';

type Variant = { name: string; kind: 'drive' | 'blockdev'; disk: string; base: (files: string[]) => string; top: (files: string[]) => string };

const variants: Variant[] = [
  { name: 'by index on a -drive chain', kind: 'drive', disk: 'drive0', base: () => 'drive0[1]', top: () => 'drive0[3]' },
  { name: 'by file name on a -drive chain', kind: 'drive', disk: 'drive0', base: (f) => f[0]!, top: (f) => f[2]! },
  { name: 'by node name on a bare -blockdev chain', kind: 'blockdev', disk: 'n4', base: () => 'n1', top: () => 'n3' },
];

for (const variant of variants) {
  t.test(variant.name, async (t) => {
    const dir = tempDir(t);
    const cli = path.join(dir, 'cli.sock');
    const layers = await buildSeedChain(dir);
    const files = layers.map((l) => l.file);
    const top = files[3]!;
    const args = variant.kind === 'drive' ? ['-drive', `if=none,id=drive0,file=${top},format=qcow2`] : blockdevChainArgs(layers);
    const { client, qemu } = await startQemu(t, { dir, args: [...args, ...extraMonitorArgs(cli)] });
    const result = await runCli(['--socket', cli, 'commit', variant.disk, '--base', variant.base(files), '--top', variant.top(files), '--wait', '--verbose']);
    t.equal(result.code, 0, `commit should succeed; stderr: ${result.stderr}`);
    t.match(result.stdout, /^Commit complete$/m, "virsh's closing words");
    t.match(result.stdout, /no longer valid on their own: .*a\.qcow2/, 'a.qcow2, between base and top, should be named invalid');
    t.notMatch(result.stdout, /no longer valid[^\n]*c\.qcow2/, 'the active image stays valid');
    const disk = findDisk(await listDisks(client), variant.disk);
    t.same(
      disk.layers.map((l) => path.basename(l.file)),
      ['base.raw', 'c.qcow2'],
      'the chain should be base <- c',
    );
    await client.execute('quit').catch(() => undefined);
    await qemu.exited;
    await t.resolves(qemuIo(top, readChecks(expectedView(layers))), 'the guest view through c should be unchanged');
  });
}
