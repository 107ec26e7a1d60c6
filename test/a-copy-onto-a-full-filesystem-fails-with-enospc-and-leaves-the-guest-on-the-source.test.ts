// A copy whose destination lies on a file system too small for the disk (a 2 MiB tmpfs, a 12 MiB
// disk): the job fails with QEMU's "No space left on device", the guest stays on its chain, and
// neither the job nor the destination node is left in QEMU. Needs root for the mount.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { copyGuest } from './helpers/copy.js';

const root = process.getuid?.() === 0;

t.test('the destination on a full file system', { skip: root ? false : 'mounting a small tmpfs needs root' }, async (t) => {
  const g = await copyGuest(t);
  const small = path.join(g.dir, 'small');
  mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2M', 'tmpfs', small]);
  // Lazily: the removal of the test's folder may run first and find the mount busy.
  t.teardown(() => execFileSync('umount', ['-l', small]));
  const dest = path.join(small, 'copy.raw');
  const result = await g.run('copy', 'drive0', '--dest', dest, '--format', 'raw', '--pivot', '--json');
  t.equal(result.code, 1, `the copy fails; stderr: ${result.stderr}`);
  t.match(
    result.stderr,
    /Copy failed: copy job 'copy-drive0' on drive0 failed: No space left on device/,
    'the error says what happened, to which job and disk',
  );
  t.match(result.stdout, /"outcome":"failed"/, 'the result says failed');
  t.match(result.stdout, new RegExp(`The destination ${dest} is left as it is`), 'and where the partial copy is');
  t.same(await g.chain(), g.files, 'the guest stays on its chain');
  t.same(await g.client.execute('query-block-jobs'), [], 'no job is left');
  t.notOk(
    (await g.nodeNames()).some((n) => n.startsWith('copy-drive0')),
    'no destination node is left',
  );
  await g.quit();
  await g.check(g.files[3]!, 'qcow2');
});
