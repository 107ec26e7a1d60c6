// A copy left running at READY by one command is finished by another (`job DISK --finish`): the
// guest stays on its source, the destination holds the copy and its node is gone.
import path from 'node:path';
import t from 'tap';
import { copyGuest } from './helpers/copy.js';

t.test('job --finish on a ready copy', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'copy.qcow2');
  const ready = await g.run('copy', 'drive0', '--dest', dest, '--wait', '--json');
  t.equal(ready.code, 0, `the copy is left at READY; stderr: ${ready.stderr}`);
  const node = (JSON.parse(ready.stdout.split('\n').find((l) => l.includes('"type":"started"')) ?? '{}') as { node?: string }).node;
  t.ok(node && (await g.nodeNames()).includes(node), 'the destination node is there while the copy runs');
  const finish = await g.run('job', 'drive0', '--finish');
  t.equal(finish.code, 0, `job --finish ends the copy; stderr: ${finish.stderr}`);
  t.match(finish.stdout, /^Successfully copied$/m, "virsh's words for a finished copy");
  t.same(await g.chain(), g.files, 'the guest stays on its source chain');
  t.notOk((await g.nodeNames()).includes(node ?? ''), 'the destination node is removed');
  t.same(await g.client.execute('query-block-jobs'), [], 'no job is left');
  const pull = await g.run('pull', 'drive0', '--wait');
  t.equal(pull.code, 0, `a pull still works on the disk; stderr: ${pull.stderr}`);
  const again = await g.run('job', 'drive0', '--finish');
  t.equal(again.code, 1, 'with no job left, --finish fails');
  await g.quit();
  await g.check(dest, 'qcow2');
});
