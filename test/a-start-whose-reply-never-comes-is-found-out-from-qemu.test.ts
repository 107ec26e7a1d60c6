// The reply to the command that starts something never comes (dropped by a proxy; QEMU ran it):
// the library does not guess. It reads QEMU's jobs or live chains and goes on as if the reply had
// come — the commit job is followed and can be aborted, the snapshot's chain is returned — and
// when QEMU cannot be asked any more, the error says plainly what may be live.
import path from 'node:path';
import t, { type Test } from 'tap';
import { CommitJob, connect, createSnapshots, resolveCommitRange, resolveDisk } from '../src/internal.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs } from './helpers/cli.js';
import { holdReplyTo } from './helpers/held-reply.js';
import { startQemu, tempDir } from './helpers/qemu.js';

async function guest(t: Test, command: string) {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const started = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const proxy = await holdReplyTo(t, dir, cli, command);
  void proxy.held.then(() => proxy.drop());
  const client = await connect({ path: proxy.path }, { commandTimeoutMs: 1500 });
  t.teardown(() => client.close());
  return { ...started, dir, layers, client, own: started.client };
}

t.test('block-commit without a reply: the job QEMU started is found and followed', async (t) => {
  const g = await guest(t, 'block-commit');
  const range = resolveCommitRange(await resolveDisk(g.client, 'drive0'), { active: true });
  const job = await CommitJob.start(g.client, range, { speed: 1 << 20 });
  t.equal(job.id, 'commit-drive0', 'the job is the one QEMU runs');
  const result = await job.cancel({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'aborted', 'and it can be aborted');
  t.same(await g.own.execute('query-block-jobs'), [], 'no job is left');
});

t.test('transaction without a reply: the live chain shows the overlay, and it is returned', async (t) => {
  const g = await guest(t, 'transaction');
  const file = path.join(g.dir, 'snap.qcow2');
  const [chain] = await createSnapshots(g.client, [{ disk: 'drive0', file }]);
  t.equal(chain?.layers.at(-1)?.file, file, 'the new chain is returned: the guest runs on the overlay');
  t.equal((await resolveDisk(g.own, 'drive0')).layers.at(-1)?.file, file, 'as QEMU says');
});
