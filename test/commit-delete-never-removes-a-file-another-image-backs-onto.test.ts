// After a shallow copy pivot the old top c.qcow2 is no longer in QEMU, but it still backs onto
// b.qcow2 ← a.qcow2 ← base.raw, and the copy said it "still reads as before". A later
// `commit --pivot --delete` must not delete a.qcow2 and b.qcow2 under it: it refuses, naming the
// image that would break, deletes nothing, and c.qcow2 still reads what the guest saw.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { copyGuest } from './helpers/copy.js';

t.test('commit --pivot --delete after a shallow copy pivot keeps what the old top backs onto', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'copy.qcow2');
  const copy = await g.run('copy', 'drive0', '--dest', dest, '--shallow', '--pivot');
  t.equal(copy.code, 0, `the shallow copy pivots; stderr: ${copy.stderr}`);
  t.same(await g.chain(), [...g.files.slice(0, 3), dest], 'the guest runs on the copy over a and b');
  const commit = await g.run('commit', 'drive0', '--active', '--pivot', '--delete');
  t.equal(commit.code, 1, `the delete is refused; stderr: ${commit.stderr}`);
  t.match(
    commit.stderr,
    new RegExp(`${g.files[3]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} still uses ${g.files[2]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} as its backing file`),
    'the message names the image that would break',
  );
  t.match(commit.stdout, /^Successfully pivoted$/m, 'the commit itself succeeded');
  for (const file of [g.files[1]!, g.files[2]!, dest]) t.ok(existsSync(file), `${path.basename(file)} is kept`);
  t.same(await g.chain(), [g.files[0]], 'the guest runs on base');
  await g.quit();
  await g.check(g.files[3]!, 'qcow2');
});
