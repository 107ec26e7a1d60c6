// qemu-storage-daemon serving the seed chain over an NBD export: the export is the chain's user,
// so `commit EXPORT --active --pivot` pivots (QEMU moves the export onto base), and reading the
// export afterwards over NBD gives exactly the guest view. A chain nothing uses still cannot pivot.
import path from 'node:path';
import t from 'tap';
import { compareImages, convertImage } from '../src/transport/qemu-img.js';
import { blockdevChainArgs, buildSeedChain } from './helpers/chain.js';
import { runCli } from './helpers/cli.js';
import { flatCopy } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('NBD export of the active layer pivots onto base', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const flat = await flatCopy(dir, layers);
  const nbd = path.join(dir, 'nbd.sock');
  const cli = path.join(dir, 'cli.sock');
  const blockdevs = blockdevChainArgs(layers).map((a) => (a === '-blockdev' ? '--blockdev' : a));
  const { client } = await startQemu(t, {
    dir,
    storageDaemon: true,
    args: [
      ...blockdevs,
      '--nbd-server',
      `addr.type=unix,addr.path=${nbd}`,
      '--export',
      'nbd,id=exp0,node-name=n4,name=vd0,writable=on',
      '--chardev',
      `socket,id=cli,path=${cli},server=on,wait=off`,
      '--monitor',
      'chardev=cli',
    ],
  });
  const blocks = await runCli(['blocks', '--socket', cli]);
  t.match(blocks.stdout, /^ exp0\s+.*c\.qcow2$/m, `the export is the disk, named by its id; got ${blocks.stdout}`);

  const result = await runCli(['commit', 'exp0', '--active', '--pivot', '--socket', cli]);
  t.equal(result.code, 0, `an exported chain has a user, so it pivots; stderr: ${result.stderr}`);
  t.match(result.stdout, /^Successfully pivoted$/m, "virsh's words");
  const exports = await client.execute('query-block-exports');
  t.same(
    exports.map((e) => [e.id, e['node-name']]),
    [['exp0', 'n1']],
    'QEMU moved the export onto base',
  );

  const served = path.join(dir, 'served.raw');
  await convertImage(`nbd+unix:///vd0?socket=${nbd}`, served, 'raw');
  t.ok(await compareImages(served, flat), 'the export now serves base, which holds exactly the guest view');
});
