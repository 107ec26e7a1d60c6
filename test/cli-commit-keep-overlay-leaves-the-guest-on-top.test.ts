// `commit --active --keep-overlay`: base gets everything, the guest stays on its top image, unchanged.
import path from 'node:path';
import t from 'tap';
import { resolveDisk, qemuIo } from '../src/internal.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';

t.test('keep-overlay: Commit complete, overlay image kept', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const files = layers.map((l) => l.file);
  const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${files[3]},format=qcow2`, ...extraMonitorArgs(cli)] });
  const result = await runCli(['commit', 'drive0', '--keep-overlay', '--socket', cli]);
  t.equal(result.code, 0, `commit should succeed; stderr: ${result.stderr}`);
  t.match(result.stdout, /^Commit complete, overlay image kept$/m, "virsh's closing words");
  const disk = await resolveDisk(client, 'drive0');
  t.same(
    disk.layers.map((l) => l.file),
    files,
    'the guest should still run on the whole chain',
  );
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await t.resolves(qemuIo(files[3]!, readChecks(expectedView(layers))), 'the guest view should be unchanged');
  await t.resolves(qemuIo(files[0]!, readChecks(expectedView(layers)), { format: 'raw' }), 'base alone should hold the merged view');
});
