// `copy --reuse-external`: a destination the user made is used as it is; without the flag an
// existing file is never overwritten, and a symbolic link is never followed.
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createImage, qemuIo } from '../src/transport/qemu-img.js';
import { copyGuest } from './helpers/copy.js';

t.test('an existing file: refused without --reuse-external, copied into with it', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'prepared.qcow2');
  await createImage(dest, { format: 'qcow2', size: '12M' });
  const before = readFileSync(dest);
  const refused = await g.run('copy', 'drive0', '--dest', dest, '--pivot');
  t.equal(refused.code, 1, 'an existing destination is refused');
  t.match(refused.stderr, /exists already \(give reuseExisting \/ --reuse-external/, `the message says why and what to do; stderr: ${refused.stderr}`);
  t.same(readFileSync(dest), before, 'the file is untouched');
  t.notOk(
    (await g.nodeNames()).some((n) => n.startsWith('copy-drive0')),
    'no destination node was added',
  );

  const reused = await g.run('copy', 'drive0', '--dest', dest, '--reuse-external', '--pivot', '--json');
  t.equal(reused.code, 0, `the copy into the prepared image pivots; stderr: ${reused.stderr}`);
  t.match(reused.stdout, /"created":false/, 'the file is reported as not created by us');
  t.same(await g.chain(), [dest], 'the guest runs on the prepared image');
  await g.quit();
  await g.check(dest, 'qcow2');
});

t.test('a symbolic link as destination is neither followed nor reused', async (t) => {
  const g = await copyGuest(t);
  const victim = path.join(g.dir, 'victim.txt');
  writeFileSync(victim, 'keep me');
  const link = path.join(g.dir, 'link.qcow2');
  symlinkSync(victim, link);
  const created = await g.run('copy', 'drive0', '--dest', link, '--pivot');
  t.equal(created.code, 1, 'a link is refused as a new destination');
  const reused = await g.run('copy', 'drive0', '--dest', link, '--reuse-external', '--pivot');
  t.equal(reused.code, 1, 'and as a reused one');
  t.match(reused.stderr, /symbolic link/, `the message says it is a link; stderr: ${reused.stderr}`);
  t.equal(readFileSync(victim, 'utf8'), 'keep me', 'the file behind the link is untouched');
  t.same(await g.chain(), g.files, 'the guest stays on its chain');
});

t.test('a reused qcow2 with a backing file is refused for a full copy', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'backed.qcow2');
  await createImage(dest, { format: 'qcow2', backing: g.files[0]!, backingFormat: 'raw' });
  const result = await g.run('copy', 'drive0', '--dest', dest, '--reuse-external', '--pivot');
  t.equal(result.code, 1, 'refused');
  t.match(result.stderr, /records the backing file .*base\.raw, which would show through/, `the message says why; stderr: ${result.stderr}`);
  t.same(await g.chain(), g.files, 'the guest stays on its chain');
});

// QEMU 7.2 and 10.0 refuse it as a job that fails at once, not as a refused command: either is said plainly.
t.test('a reused image of another size: the copy fails, and its node is removed again', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'small.qcow2');
  await createImage(dest, { format: 'qcow2', size: '8M' });
  const result = await g.run('copy', 'drive0', '--dest', dest, '--reuse-external', '--pivot');
  t.equal(result.code, 1, 'refused');
  t.match(
    result.stderr,
    /(Copy failed: copy job 'copy-drive0' on drive0 failed|cannot start a copy of drive0 to .*small\.qcow2: QEMU refused blockdev-mirror).*different sizes/,
    `QEMU's reason, with the job and the disk; stderr: ${result.stderr}`,
  );
  t.notOk(
    (await g.nodeNames()).some((n) => n.startsWith('copy-drive0')),
    'the node added for it is removed again',
  );
  t.same(await g.client.execute('query-block-jobs'), [], 'no job runs');
  t.same(await g.chain(), g.files, 'the guest stays on its chain');
});

t.test('--shallow onto a reused qcow2 that holds data of its own: refused unless --allow-existing-data', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'seeded.qcow2');
  // The right backing file (b.qcow2, below the active c.qcow2), but 1 MiB of its own at offset 0.
  await createImage(dest, { format: 'qcow2', backing: g.files[2]!, backingFormat: 'qcow2' });
  await qemuIo(dest, ['write -P 0x7e 0 1M'], { format: 'qcow2' });
  const before = readFileSync(dest);
  const refused = await g.run('copy', 'drive0', '--dest', dest, '--reuse-external', '--shallow', '--pivot');
  t.equal(refused.code, 1, `refused; stderr: ${refused.stderr}`);
  t.match(
    refused.stderr,
    /already holds 1048576 bytes of its own \(first at offset 0\), which would hide the backing image .*--allow-existing-data/,
    'the message says what it holds, why that matters and how to insist',
  );
  t.same(readFileSync(dest), before, 'the file is untouched');
  t.same(await g.chain(), g.files, 'the guest stays on its chain');
  t.notOk(
    (await g.nodeNames()).some((n) => n.startsWith('copy-drive0')),
    'no destination node was added',
  );
  const usage = await g.run('copy', 'drive0', '--dest', dest, '--reuse-external', '--allow-existing-data', '--pivot');
  t.equal(usage.code, 2, `--allow-existing-data without --shallow is a usage error; stderr: ${usage.stderr}`);
  const insisted = await g.run('copy', 'drive0', '--dest', dest, '--reuse-external', '--shallow', '--allow-existing-data', '--finish');
  t.equal(insisted.code, 0, `asked for explicitly, the copy runs; stderr: ${insisted.stderr}`);
});

t.test('--shallow onto a reused empty overlay of the right backing file is taken as it is', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'empty.qcow2');
  await createImage(dest, { format: 'qcow2', backing: g.files[2]!, backingFormat: 'qcow2' });
  const reused = await g.run('copy', 'drive0', '--dest', dest, '--reuse-external', '--shallow', '--pivot');
  t.equal(reused.code, 0, `pivots; stderr: ${reused.stderr}`);
  t.same(await g.chain(), [...g.files.slice(0, 3), dest], 'the guest runs on the overlay, over the same backing images');
  await g.quit();
  await g.check(dest, 'qcow2');
});
