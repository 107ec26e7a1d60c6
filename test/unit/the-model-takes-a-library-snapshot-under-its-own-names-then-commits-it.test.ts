// An embedder's snapshots against the model of a recorded snapshot-then-commit: createSnapshots sends
// a `transaction` with its own random `snap-…` node name and its own overlay files, which the recording
// never had. The model takes each as the snapshot the recording took at that point, so the chain reads
// back with the client's node names and files on top, as QEMU (which keeps the names it is given)
// would have it; the library's active commit then pivots and the chain is the recorded base alone.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startMockQmp } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import { resolveCommitRange } from '../../src/block/address.js';
import { resolveDisk } from '../../src/block/chain.js';
import { createSnapshots } from '../../src/block/snapshot.js';
import { CommitJob } from '../../src/jobs/index.js';
import { fixtureFile, fixtureSets } from './helpers/recorded.js';

const WAIT = { timeoutMs: 15_000 };

/** How many snapshots the recording took (each its own command). */
function recordedSnapshots(file: string): number {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"dir":"out"') && l.includes('"execute":"blockdev-snapshot-sync"')).length;
}

for (const set of fixtureSets())
  for (const name of ['snapshot-then-commit.jsonl', 'raw/snapshot-then-commit.jsonl']) {
    const file = fixtureFile(set, name);
    if (!file) continue;
    t.test(`${set.name}/${name}: createSnapshots under its own names, then an active commit`, async (t) => {
      const count = recordedSnapshots(file);
      t.ok(count > 0, 'the transcript should record snapshots');
      const mock = await startMockQmp({ trace: file, model: true, instant: true });
      t.teardown(() => mock.close());
      const client = await connect(mock.address, { connectTimeoutMs: 2000 });
      t.teardown(() => client.close());
      const dir = mkdtempSync(path.join(tmpdir(), 'qmpbj-snap-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));

      const before = await resolveDisk(client, 'drive0', WAIT);
      const mine: Array<{ file: string; nodeName: string }> = [];
      for (let i = 1; i <= count; i++) {
        const target = path.join(dir, `mine-${i}.qcow2`);
        const [chain] = await createSnapshots(client, [{ disk: 'drive0', file: target }], WAIT);
        const top = chain!.layers[chain!.layers.length - 1]!;
        t.match(top.nodeName, /^snap-[0-9a-f]{8}$/, `snapshot ${i}: the active layer has the library's own node name`);
        mine.push({ file: top.file, nodeName: top.nodeName });
        const read = await resolveDisk(client, 'drive0', WAIT);
        t.same(
          read.layers.map((l) => l.file),
          [...before.layers.map((l) => l.file), ...mine.map((m) => path.join(dir, `mine-${mine.indexOf(m) + 1}.qcow2`))],
          `snapshot ${i}: the chain read back has the client's overlays on the recorded chain`,
        );
        t.same(
          read.layers.slice(before.layers.length).map((l) => l.nodeName),
          mine.map((m) => m.nodeName),
          `snapshot ${i}: each overlay has the node name the client gave it`,
        );
      }

      const job = await CommitJob.start(client, resolveCommitRange(await resolveDisk(client, 'drive0', WAIT), {}), {});
      await job.waitUntilReady(WAIT);
      const result = await job.pivot(WAIT);
      t.equal(result.outcome, 'pivoted', "the active commit of the client's chain pivots");
      const after = await resolveDisk(client, 'drive0', WAIT);
      t.same(
        after.layers.map((l) => l.file),
        [before.layers[0]!.file],
        'after the pivot the chain is the recorded base alone',
      );
    });
  }
