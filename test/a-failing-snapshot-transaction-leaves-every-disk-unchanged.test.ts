// When QEMU refuses the second action of a snapshot transaction, the first disk is not changed
// either, and the overlay file QEMU already created for it is removed again.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createSnapshots, listDisks } from '../src/block/index.js';
import { QmpCommandError } from '../src/internal.js';
import { expectedView, readChecks } from './helpers/chain.js';
import { readChecksPass } from './helpers/block.js';
import { startTwoDiskGuest } from './helpers/two-disks.js';

t.test('second action fails: nothing changes', async (t) => {
  const { client, dir, vda, vdb } = await startTwoDiskGuest(t);
  const before = await listDisks(client);
  const first = path.join(dir, 'vda-snap.qcow2');
  // QEMU cannot create a file in a folder that does not exist: the second action fails in prepare.
  const impossible = path.join(dir, 'no-such-folder', 'vdb-snap.qcow2');

  const error = await createSnapshots(client, [
    { disk: 'vda', file: first },
    { disk: 'vdb', file: impossible },
  ]).catch((e: unknown) => e);
  t.ok(error instanceof QmpCommandError, `QEMU's refusal comes back as QmpCommandError, got ${String(error)}`);
  t.equal((error as QmpCommandError).command, 'transaction', 'the error names the transaction');
  t.match((error as QmpCommandError).desc, /no-such-folder.*No such file or directory|Could not create/, "QEMU's reason is kept");
  t.same(await listDisks(client), before, 'both chains exactly as before');
  t.notOk(existsSync(first), 'the overlay QEMU created for vda before vdb failed was removed');

  // Without file access (as for a remote QEMU) nothing is cleaned: this shows QEMU does leave the file.
  const leftover = await createSnapshots(
    client,
    [
      { disk: 'vda', file: first },
      { disk: 'vdb', file: impossible },
    ],
    { files: null },
  ).catch((e: unknown) => e);
  t.ok(leftover instanceof QmpCommandError, 'the same transaction fails again');
  t.ok(existsSync(first), 'QEMU itself leaves the first overlay file behind (that is why we remove it)');
  t.same(await listDisks(client), before, 'chains still unchanged');

  await t.resolves(readChecksPass(vda[3]!.file, readChecks(expectedView(vda))), 'vda data unchanged');
  await t.resolves(readChecksPass(vdb[3]!.file, readChecks(expectedView(vdb))), 'vdb data unchanged');
});
