// A pull resolved on a chain that another client changed before the start (a snapshot taken in
// between) is refused with ChainChangedError before block-stream is sent: no job starts, and the
// chain the other client made stays as it is.
import path from 'node:path';
import t from 'tap';
import { ChainChangedError, createSnapshots, resolveDisk, resolvePullRange, StreamJob } from '../src/internal.js';
import { buildSeedChain } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('a snapshot between resolving and starting a pull', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`] });
  const range = resolvePullRange(await resolveDisk(client, 'drive0'), {});
  const overlay = path.join(dir, 'd.qcow2');
  await createSnapshots(client, [{ disk: 'drive0', file: overlay }]);
  const refused = await StreamJob.start(client, range).catch((e: unknown) => e);
  t.ok(refused instanceof ChainChangedError, `the pull is refused as a changed chain, got: ${String(refused)}`);
  t.match((refused as Error).message, /drive0/, 'the message names the disk');
  t.same(await client.execute('query-block-jobs'), [], 'no job was started');
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    [...layers.map((l) => l.file), overlay],
    'the chain with the new overlay stays as it is',
  );
});
