// `commit … --delete` (virsh's flag): after success, exactly the images the commit made invalid are
// deleted — never base, never an image the guest still uses — and the output says which.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { qemuIo } from '../src/index.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';

t.test('intermediate commit --delete removes a.qcow2 only; active --pivot --delete removes the rest', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const [base, a, b, c] = layers.map((l) => l.file) as [string, string, string, string];
  const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${c},format=qcow2`, ...extraMonitorArgs(cli)] });
  const first = await runCli(['commit', 'drive0', '--top', b, '--base', base, '--wait', '--delete', '--socket', cli]);
  t.equal(first.code, 0, `intermediate commit should succeed; stderr: ${first.stderr}`);
  t.match(first.stdout, new RegExp(`^Deleted: ${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), 'the output should name the deleted file');
  t.notOk(existsSync(a), 'a.qcow2 (between base and top) should be deleted');
  t.ok(existsSync(b) && existsSync(c) && existsSync(base), 'top, the active image and base should stay');

  const second = await runCli(['commit', 'drive0', '--active', '--pivot', '--delete', '--socket', cli]);
  t.equal(second.code, 0, `active commit should succeed; stderr: ${second.stderr}`);
  t.notOk(existsSync(c), 'after the pivot the old top c.qcow2 should be deleted');
  t.ok(existsSync(base), 'base should stay');
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await t.resolves(qemuIo(base, readChecks(expectedView(layers)), { format: 'raw' }), 'base should hold everything the guest saw');
});
