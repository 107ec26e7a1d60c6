// As in virsh: committing the active layer without --active is refused before any job starts, and
// --active / --pivot with a top that is not the active layer too ("active commit requested but … is
// not active"), instead of silently running an intermediate commit; the chain stays as it was.
import path from 'node:path';
import t from 'tap';
import { resolveDisk } from '../src/internal.js';
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
  t.match(
    noActive.stderr,
    /c\.qcow2 is the active layer: committing it is an active commit, which has to be asked for \(virsh --active\)/,
    'the message should say why and what to add',
  );
  for (const flagged of ['--pivot', '--active', '--keep-overlay']) {
    const notActive = await runCli(['commit', 'drive0', '--top', 'drive0[3]', flagged, '--wait', '--socket', cli]);
    t.equal(notActive.code, 1, `${flagged} with an intermediate top should be refused; stdout: ${notActive.stdout}`);
    t.match(
      notActive.stderr,
      /active commit requested but \[3\] .*b\.qcow2 is not active/,
      `${flagged}: the message should say the top is not active, as virsh does`,
    );
  }
  const reversed = await runCli(['commit', 'drive0', '--top', 'drive0[1]', '--base', 'drive0[3]', '--wait', '--socket', cli]);
  t.equal(reversed.code, 1, 'base above top should fail');
  t.match(reversed.stderr, /base|top/, 'the message should talk about base and top');
  t.same(await client.execute('query-block-jobs'), [], 'no job should have been started');
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    layers.map((l) => l.file),
    'the chain should be unchanged',
  );
});
