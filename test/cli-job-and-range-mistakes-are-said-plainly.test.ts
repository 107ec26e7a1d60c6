// Mistakes get messages that fit them: `job --pivot` on an intermediate commit says it completes by
// itself (not "wait for READY"), an index too large to be a number is echoed as typed, and a QEMU
// refusal is printed once, with the disk as the user named it.
import path from 'node:path';
import t from 'tap';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('messages', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const run = (...args: string[]) => runCli([...args, '--socket', cli]);

  const huge = await run('commit', 'drive0', '--top', 'drive0[99999999999999999999]', '--wait');
  t.equal(huge.code, 1, 'an index that names no image is refused');
  t.match(huge.stderr, /no image with index 99999999999999999999 \(/, 'the index is echoed as typed, not rounded');

  const started = await run('commit', 'drive0', '--top', 'drive0[3]', '--bandwidth', '1', '--bytes');
  t.equal(started.code, 0, `an intermediate commit left running; stderr: ${started.stderr}`);
  const pivot = await run('job', 'drive0', '--pivot');
  t.equal(pivot.code, 1, 'pivot of an intermediate commit is refused');
  t.match(pivot.stderr, /it is an intermediate commit, which completes by itself/, `the reason fits; stderr: ${pivot.stderr}`);
  t.notMatch(pivot.stderr, /READY/, 'no advice to wait for READY, which never comes');

  const second = await run('qmp', 'block-commit', 'device=drive0', 'job-id=other');
  t.equal(second.code, 1, 'QEMU refuses a second job on the disk');
  t.equal(second.stderr.trim().split('\n').length, 1, 'one line');
  const abort = await run('job', 'drive0', '--abort');
  t.equal(abort.code, 0, `the job can be aborted; stderr: ${abort.stderr}`);
  t.same(await client.execute('query-block-jobs'), [], 'no job is left');
});
