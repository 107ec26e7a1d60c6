// A copy left running at READY by one command is pivoted by another (`job DISK --pivot`), which
// attaches to it: the guest moves onto the destination.
import path from 'node:path';
import t from 'tap';
import { copyGuest } from './helpers/copy.js';

t.test('job --pivot on a ready copy', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'copy.qcow2');
  const ready = await g.run('copy', 'drive0', '--dest', dest, '--wait');
  t.equal(ready.code, 0, `the copy is left at READY; stderr: ${ready.stderr}`);
  const info = await g.run('job', 'drive0', '--info');
  t.match(info.stderr + info.stdout, /Block Copy: \[100\.00 %\]/, 'job --info names it a copy');
  const pivot = await g.run('job', 'drive0', '--pivot');
  t.equal(pivot.code, 0, `job --pivot switches the guest; stderr: ${pivot.stderr}`);
  t.match(pivot.stdout, /^Successfully pivoted$/m, "virsh's words");
  t.same(await g.chain(), [dest], 'the guest runs on the destination');
  t.same(await g.client.execute('query-block-jobs'), [], 'no job is left');
  await g.quit();
  await g.check(dest, 'qcow2');
});
