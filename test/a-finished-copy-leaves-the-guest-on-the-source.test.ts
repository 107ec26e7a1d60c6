// `copy --finish` (virsh blockcopy --finish): after READY the job is ended with the guest on the
// source; the destination holds a full copy and its node is removed from QEMU again.
import path from 'node:path';
import t from 'tap';
import { compareImages } from '../src/transport/qemu-img.js';
import { copyGuest } from './helpers/copy.js';

t.test('a finished copy', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'backup.raw');
  const result = await g.run('copy', 'drive0', '--dest', dest, '--format', 'raw', '--finish', '--json');
  t.equal(result.code, 0, `the copy finishes; stderr: ${result.stderr}`);
  t.match(result.stdout, /"outcome":"copied"/, 'the outcome is a copy, not a pivot');
  t.match(result.stdout, /"node":"removed"/, 'the destination node is said to be removed');
  t.same(await g.chain(), g.files, 'the guest stays on its chain');
  t.notOk(
    (await g.nodeNames()).some((n) => n.startsWith('copy-drive0')),
    'the destination node is gone from query-named-block-nodes',
  );
  t.same(await g.client.execute('query-block-jobs'), [], 'no job is left');
  const text = await g.run('copy', 'drive0', '--dest', path.join(g.dir, 'second.qcow2'), '--finish');
  t.match(text.stdout, /^Successfully copied$/m, "virsh's closing words");
  t.ok(await compareImages(dest, g.files[3]!, { forceShare: true }), 'the copy equals the guest view (qemu-img compare)');
  await g.quit();
  await g.check(dest, 'raw');
  await g.check(g.files[3]!, 'qcow2');
});
