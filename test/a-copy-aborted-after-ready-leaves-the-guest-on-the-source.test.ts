// A copy left running at READY (`copy --wait`) and aborted from another command (`job DISK
// --abort`): "Copy aborted", the guest stays on its chain, the destination node is removed, the
// file we created is left where it is; `jobs` showed the job as a copy while it ran.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { jsonLines } from './helpers/cli.js';
import { copyGuest } from './helpers/copy.js';

t.test('abort after READY', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'copy.qcow2');
  const ready = await g.run('copy', 'drive0', '--dest', dest, '--wait');
  t.equal(ready.code, 0, `the copy reaches READY and is left running; stderr: ${ready.stderr}`);
  t.match(ready.stdout, /^Now in mirroring phase$/m, "virsh's words");
  const jobs = await g.run('jobs');
  t.match(jobs.stdout, /copy-drive0\s+mirror \(copy\)\s+ready\s+100\.00 %/, `jobs shows the copy, ready; stdout: ${jobs.stdout}`);
  t.match(jsonLines((await g.run('jobs', '--json')).stdout), [{ id: 'copy-drive0', jobType: 'mirror', status: 'ready' }], 'and in --json');
  const abort = await g.run('job', 'drive0', '--abort', '--json');
  t.equal(abort.code, 0, `job --abort ends it; stderr: ${abort.stderr}`);
  t.match(
    jsonLines(abort.stdout),
    [
      { type: 'message', message: 'Copy aborted' },
      { type: 'result', outcome: 'aborted', node: 'removed', dest },
    ],
    'aborted, and the node found from the block graph is removed',
  );
  t.same(await g.chain(), g.files, 'the guest stays on its chain');
  t.notOk(
    (await g.nodeNames()).some((n) => n.startsWith('copy-drive0')),
    'no destination node is left',
  );
  t.same(await g.client.execute('query-block-jobs'), [], 'no job is left');
  t.ok(existsSync(dest), 'the destination file is left where it is');
  await g.quit();
  await g.check(g.files[3]!, 'qcow2');
});

t.test('--timeout aborts a slow copy before READY and says where the file is', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'slow.qcow2');
  const result = await g.run('copy', 'drive0', '--dest', dest, '--pivot', '--bandwidth', '65536', '--bytes', '--timeout', '1');
  t.equal(result.code, 1, 'an aborted copy exits 1');
  t.match(result.stdout, /^Copy aborted$/m, "virsh's words");
  t.match(result.stdout, new RegExp(`The destination ${dest} is left as it is \\(an unfinished copy\\)`), 'the message says where the file is');
  t.same(await g.chain(), g.files, 'the guest stays on its chain');
  t.notOk(
    (await g.nodeNames()).some((n) => n.startsWith('copy-drive0')),
    'no destination node is left',
  );
  t.same(await g.client.execute('query-block-jobs'), [], 'no job is left');
});
