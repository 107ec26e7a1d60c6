// `checkpoint create|list|delete` on two disks: create adds one persistent bitmap per disk in one
// transaction (a disk QEMU refuses, a raw one, leaves no bitmap on the other), list shows per disk which image
// each bitmap lives in and its dirty size, delete merges into the previous checkpoint and removes it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { hmpQemuIo } from './helpers/block.js';
import { dirtyExtents, liveBitmapCounts, mib, MiB } from './helpers/bitmaps.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const run = promisify(execFile);

t.test('checkpoints across two disks and a snapshot', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const [d0, d1, raw] = ['d0.qcow2', 'd1.qcow2', 'r.raw'].map((f) => path.join(dir, f)) as [string, string, string];
  for (const f of [d0, d1]) await run('qemu-img', ['create', '-f', 'qcow2', f, '12M']);
  await run('qemu-img', ['create', '-f', 'raw', raw, '12M']);
  const { client, qemu } = await startQemu(t, {
    dir,
    args: [
      '-drive',
      `file=${d0},format=qcow2,id=drive0,if=none`,
      '-drive',
      `file=${d1},format=qcow2,id=drive1,if=none`,
      '-drive',
      `file=${raw},format=raw,id=drive2,if=none`,
      ...extraMonitorArgs(cli),
    ],
  });
  const q = (...args: string[]) => runCli([...args, '--socket', cli]);

  const refused = await q('checkpoint', 'create', 'chkx', 'drive0', 'drive2');
  t.match(
    refused,
    { code: 1, stderr: /cannot create checkpoint 'chkx' on drive0, drive2: .*Can't store persistent bitmaps to drive2.*no disk got it/ },
    'a checkpoint QEMU refuses on one disk (a raw image keeps no bitmap) should fail',
  );
  t.same(await liveBitmapCounts(client), {}, 'and leave no bitmap on the other disk: one transaction');

  const made = await q('checkpoint', 'create', 'chk0', 'drive0', 'drive1');
  t.equal(made.code, 0, `create chk0 should succeed; stderr: ${made.stderr}`);
  t.match(made.stdout, /Checkpoint chk0 created on drive0 .*d0\.qcow2.*, drive1 .*d1\.qcow2/, 'create should say where');
  await hmpQemuIo(client, 'drive0', 'write -P 0x41 1M 1M');
  await hmpQemuIo(client, 'drive1', 'write -P 0x41 2M 1M');
  t.equal((await q('snapshot', 'drive0', '--file', path.join(dir, 's0.qcow2'))).code, 0, 'snapshot of drive0');
  t.equal((await q('checkpoint', 'create', 'chk1', 'drive0', 'drive1')).code, 0, 'create chk1');
  const twice = await q('checkpoint', 'create', 'chk1', 'drive1');
  t.match(twice, { code: 1, stderr: /checkpoint 'chk1' exists already on disk 'drive1'/ }, 'a checkpoint name used twice should be refused');
  await hmpQemuIo(client, 'drive0', 'write -P 0x42 4M 1M');
  await hmpQemuIo(client, 'drive1', 'write -P 0x42 5M 1M');

  const listed = await q('checkpoint', 'list', 'drive0', 'drive1', '--json');
  t.equal(listed.code, 0, `list should succeed; stderr: ${listed.stderr}`);
  const disks = (
    jsonLines(listed.stdout).find((l) => l.type === 'checkpoints') as {
      disks: Array<{ disk: string; layers: Array<{ file: string; bitmaps: Array<{ name: string; count: number }> }> }>;
    }
  ).disks;
  const view = disks.map((d) => ({
    disk: d.disk,
    layers: d.layers.map((l) => ({ file: path.basename(l.file), bitmaps: l.bitmaps.map((b) => [b.name, b.count / MiB]) })),
  }));
  t.same(
    view,
    [
      {
        disk: 'drive0',
        layers: [
          { file: 'd0.qcow2', bitmaps: [['chk0', 1]] },
          {
            file: 's0.qcow2',
            bitmaps: [
              ['chk0', 1],
              ['chk1', 1],
            ],
          },
        ],
      },
      {
        disk: 'drive1',
        layers: [
          {
            file: 'd1.qcow2',
            bitmaps: [
              ['chk0', 2],
              ['chk1', 1],
            ],
          },
        ],
      },
    ],
    'list should show per disk each image, its bitmaps oldest first and their dirty MiB',
  );
  const text = await q('checkpoint', 'list', 'drive0');
  t.match(text.stdout, /chk1\s+drive0\[2\]\s+\S*s0\.qcow2\s+1\.00 MiB\s+recording/, 'the table should name the image and the dirty size');

  const stuck = await q('checkpoint', 'delete', 'chk0', 'drive0');
  t.match(
    stuck,
    { code: 1, stderr: /lives also in \S*d0\.qcow2, a read-only backing image/ },
    'a checkpoint also in a read-only backing image should be refused by file',
  );
  const deleted = await q('checkpoint', 'delete', 'chk1', 'drive1');
  t.equal(deleted.code, 0, `delete chk1 should succeed; stderr: ${deleted.stderr}`);
  t.match(deleted.stdout, /Checkpoint chk1 deleted on drive1: removed from \S*d1\.qcow2, merged into chk0/, 'delete should say it merged into chk0');
  const counts = await liveBitmapCounts(client);
  t.same(counts['d1.qcow2'], { chk0: 2 * MiB }, 'drive1 keeps chk0 with every write since it, chk1 gone');
  t.same(counts['s0.qcow2'], { chk0: MiB, chk1: MiB }, 'drive0 is untouched');

  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  t.same(
    await dirtyExtents(d1, 'chk0'),
    mib([
      [2, 1],
      [5, 1],
    ]),
    'd1.qcow2 chk0 on disk: both writes',
  );
  t.same(await dirtyExtents(path.join(dir, 's0.qcow2'), 'chk1'), mib([[4, 1]]), 's0.qcow2 chk1 on disk: the write since chk1');
});
