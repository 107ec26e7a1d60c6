// As in virsh: committing the active layer without --active is refused before any job starts (exit 1),
// and --pivot on an intermediate range is a usage error (exit 2); the chain stays as it was.
import path from 'node:path';
import t from 'tap';
import { resolveDisk } from '../src/index.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';

t.test('refusals leave no job and the chain unchanged', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const noActive = await runCli(['commit', 'drive0', '--wait', '--socket', cli]);
  t.equal(noActive.code, 1, 'committing the active layer without --active should fail');
  t.match(noActive.stderr, /c\.qcow2 is the active layer of drive0: committing it needs --active/, 'the message should say why and what to add');
  const pivotIntermediate = await runCli(['commit', 'drive0', '--top', 'drive0[3]', '--pivot', '--socket', cli]);
  t.equal(pivotIntermediate.code, 2, '--pivot with an intermediate top is a usage error');
  t.match(pivotIntermediate.stderr, /--pivot applies to an active commit/, 'the message should say why');
  const reversed = await runCli(['commit', 'drive0', '--top', 'drive0[1]', '--base', 'drive0[3]', '--wait', '--socket', cli]);
  t.equal(reversed.code, 1, 'base above top should fail');
  t.match(reversed.stderr, /base|top/, 'the message should talk about base and top');
  t.same(await client.execute('query-block-jobs'), [], 'no job should have been started');
  t.same((await resolveDisk(client, 'drive0')).layers.map((l) => l.file), layers.map((l) => l.file), 'the chain should be unchanged');
});
