// Whatever the types, a second job on a disk that has one is refused before anything is touched,
// with a message naming the disk and the job in the way (QEMU alone says "Need a root block node"
// or "is in use"): a copy on a pulling disk, a pull and a commit on a copying disk. The refused
// copy creates no file and adds no node.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { copyGuest } from './helpers/copy.js';

t.test('a second job on a busy disk', async (t) => {
  const g = await copyGuest(t);
  const pull = await g.run('pull', 'drive0', '--bandwidth', '65536', '--bytes');
  t.equal(pull.code, 0, `a slow pull is left running; stderr: ${pull.stderr}`);
  const dest = path.join(g.dir, 'copy.qcow2');
  const copy = await g.run('copy', 'drive0', '--dest', dest, '--pivot');
  t.equal(copy.code, 1, 'a copy on the pulling disk is refused');
  t.match(
    copy.stderr,
    /cannot start a copy on drive0: the disk already has a block job running \(pull-drive0\)/,
    `the message names the disk and the job; stderr: ${copy.stderr}`,
  );
  t.notOk(existsSync(dest), 'no destination file was created');
  t.notOk(
    (await g.nodeNames()).some((n) => n.startsWith('copy-drive0')),
    'no destination node was added',
  );
  t.equal((await g.run('job', 'drive0', '--abort')).code, 0, 'the pull is aborted');

  const ready = await g.run('copy', 'drive0', '--dest', dest, '--wait');
  t.equal(ready.code, 0, `a copy is left at READY; stderr: ${ready.stderr}`);
  const secondPull = await g.run('pull', 'drive0', '--wait');
  t.match(
    secondPull.stderr,
    /cannot start a pull on drive0: the disk already has a block job running \(copy-drive0\)/,
    `a pull on the copying disk is refused; stderr: ${secondPull.stderr}`,
  );
  const commit = await g.run('commit', 'drive0', '--active', '--wait');
  t.match(commit.stderr, /cannot start commit on drive0: the disk already has a block job running \(copy-drive0\)/, `and a commit; stderr: ${commit.stderr}`);
  t.same(
    (await g.client.execute('query-block-jobs')).map((j) => j.device),
    ['copy-drive0'],
    'only the copy runs',
  );
  t.equal((await g.run('job', 'drive0', '--abort')).code, 0, 'the copy is aborted');
  t.same(await g.chain(), g.files, 'the chain is as it was');
});
