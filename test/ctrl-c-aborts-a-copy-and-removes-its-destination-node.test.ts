// SIGINT while a throttled copy waits for READY: "Copy aborted", exit 1, the guest stays on its
// chain with its data unchanged, no job and no destination node are left, and the message says
// where the unfinished file is.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { finished, jsonLines, startCli, waitForLine } from './helpers/cli.js';
import { copyGuest } from './helpers/copy.js';

t.test('SIGINT during a copy', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'copy.qcow2');
  const child = startCli(['copy', 'drive0', '--dest', dest, '--pivot', '--bandwidth', '65536', '--bytes', '--json', '--socket', g.cli]);
  t.teardown(() => child.kill('SIGKILL'));
  const done = finished(child);
  await waitForLine(child, (line) => line.includes('"type":"started"'));
  t.ok((await g.nodeNames()).includes('copy-drive0-dest'), 'the destination node is there while the copy runs');
  child.kill('SIGINT');
  const result = await done;
  t.equal(result.code, 1, `an aborted copy exits 1; stderr: ${result.stderr}`);
  const lines = jsonLines(result.stdout);
  t.match(
    lines.filter((l) => l.type === 'message').map((l) => l.message),
    ['Copy aborted', /The destination .*copy\.qcow2 is left as it is/],
    'the abort and where the file is',
  );
  t.match(
    ((lines.find((l) => l.type === 'result')?.states ?? []) as string[]).slice(-3),
    ['aborting', 'concluded', 'null'],
    'the job went through aborting to null',
  );
  t.same(await g.chain(), g.files, 'the guest stays on its chain');
  t.same(await g.client.execute('query-block-jobs'), [], 'no job is left');
  t.notOk(
    (await g.nodeNames()).some((n) => n.startsWith('copy-drive0')),
    'no destination node is left',
  );
  t.ok(existsSync(dest), 'the unfinished file is left where it is');
  await g.quit();
  await g.check(g.files[3]!, 'qcow2');
});
