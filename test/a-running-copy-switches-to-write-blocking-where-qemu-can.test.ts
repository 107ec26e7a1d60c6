// --copy-mode write-blocking: a copy started with it converges and pivots on every QEMU of the CI
// matrix; switching a running copy (block-job-change) works where the schema has the command
// (QEMU 8.2+) and is refused in words, nothing sent, where it has not (7.2).
import path from 'node:path';
import t from 'tap';
import { qmpSchema } from '../src/internal.js';
import { copyGuest } from './helpers/copy.js';

t.test('start in write-blocking mode', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'copy.qcow2');
  const result = await g.run('copy', 'drive0', '--dest', dest, '--copy-mode', 'write-blocking', '--pivot');
  t.equal(result.code, 0, `the copy pivots; stderr: ${result.stderr}`);
  t.same(await g.chain(), [dest], 'the guest runs on the destination');
  await g.quit();
  await g.check(dest, 'qcow2');
});

t.test('switch a running copy to write-blocking', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'copy.qcow2');
  const ready = await g.run('copy', 'drive0', '--dest', dest, '--wait');
  t.equal(ready.code, 0, `the copy is left at READY; stderr: ${ready.stderr}`);
  const hasChange = (await qmpSchema(g.client)).commands.has('block-job-change');
  const change = await g.run('job', 'drive0', '--copy-mode', 'write-blocking');
  if (hasChange) {
    t.equal(change.code, 0, `QEMU with block-job-change switches it; stderr: ${change.stderr}`);
    t.match(change.stdout, /^Job copy-drive0 copy mode set to write-blocking$/m, 'and says so');
  } else {
    t.equal(change.code, 1, 'QEMU without block-job-change: refused');
    t.match(change.stderr, /this QEMU has no block-job-change \(QEMU 8\.2\+\)/, `the message says what QEMU lacks; stderr: ${change.stderr}`);
  }
  const commitSwitch = await g.run('job', 'drive0', '--copy-mode', 'nonsense');
  t.equal(commitSwitch.code, 2, 'a mode that does not exist is a usage error');
  const pivot = await g.run('job', 'drive0', '--pivot');
  t.equal(pivot.code, 0, `the copy still pivots; stderr: ${pivot.stderr}`);
  await g.quit();
  await g.check(dest, 'qcow2');
});
