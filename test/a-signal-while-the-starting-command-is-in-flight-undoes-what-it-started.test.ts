// Ctrl-C while the command that starts something is in flight (QEMU has run it, its reply is held
// by a proxy): the CLI waits for the reply, then undoes what it started — the commit, pull or copy
// job is cancelled, the copy's destination node removed, a group's jobs all cancelled — or, for a
// snapshot, which cannot be undone, says that the guest now runs on the new overlay. Never
// "aborted" while QEMU holds something live. On a -blockdev guest with two virtio disks; the commit
// also under every other terminating signal (HUP, TERM, QUIT, PIPE).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import t, { type Test } from 'tap';
import { listDisks, type QmpClient } from '../src/internal.js';
import { finished, startCli, type CliResult } from './helpers/cli.js';
import { startGroupGuest } from './helpers/group-guest.js';
import { holdReplyTo } from './helpers/held-reply.js';

/** Resolves once the child said on stderr that it waits for the in-flight reply, or exited. */
function acknowledged(child: ChildProcess, done: Promise<CliResult>): Promise<string> {
  return new Promise((resolve) => {
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer | string) => {
      stderr += chunk.toString();
      if (/had no answer yet/.test(stderr)) resolve(stderr);
    });
    void done.then(() => resolve(stderr));
  });
}

/** Runs `args` through a proxy holding the reply to `command`, sends `signal` once QEMU has run it, then releases the reply. */
async function interruptInFlight(t: Test, command: string, args: (dir: string) => string[], signal: NodeJS.Signals = 'SIGINT') {
  const guest = await startGroupGuest(t);
  const proxy = await holdReplyTo(t, guest.dir, guest.cli, command);
  const child = startCli([...args(guest.dir), '--socket', proxy.path]);
  t.teardown(() => child.kill('SIGKILL'));
  const done = finished(child, 90_000);
  await proxy.held;
  child.kill(signal);
  await acknowledged(child, done);
  proxy.release();
  return { guest, result: await done };
}

async function nothingLeft(t: Test, client: QmpClient, what: string): Promise<void> {
  t.same(await client.execute('query-jobs'), [], `${what}: no job is left in QEMU`);
  const nodes = (await client.execute('query-named-block-nodes', { flat: true }))
    .flatMap((n) => n['node-name'] ?? [])
    .filter((n) => !/^[pq]\d$/.test(n) && !n.startsWith('#'));
  t.same(nodes, [], `${what}: no node of ours is left in QEMU`);
  const disks = await listDisks(client);
  t.same(
    disks.find((d) => d.qdevId === 'vda')?.layers.map((l) => l.nodeName),
    ['p1', 'p2', 'p3', 'p4'],
    `${what}: vda still runs on its whole chain`,
  );
}

t.test('commit: block-commit in flight is cancelled once its reply comes', async (t) => {
  const { guest, result } = await interruptInFlight(t, 'block-commit', () => ['commit', 'vda', '--active', '--pivot', '--bandwidth', '1']);
  t.equal(result.code, 1, `exit 1; stderr: ${result.stderr}`);
  t.match(result.stderr, /block-commit had no answer yet: QEMU may already have run it/, 'says it waits for the reply');
  t.match(result.stdout, /^Commit aborted$/m, 'the job it started is aborted');
  await nothingLeft(t, guest.client, 'commit');
});

t.test('pull: block-stream in flight is cancelled once its reply comes', async (t) => {
  const { guest, result } = await interruptInFlight(t, 'block-stream', () => ['pull', 'vda', '--wait', '--bandwidth', '1']);
  t.equal(result.code, 1, `exit 1; stderr: ${result.stderr}`);
  t.match(result.stdout, /^Pull aborted$/m, 'the job it started is aborted');
  await nothingLeft(t, guest.client, 'pull');
});

t.test('copy: blockdev-mirror in flight is cancelled and its destination node removed', async (t) => {
  const { guest, result } = await interruptInFlight(t, 'blockdev-mirror', (dir) => [
    'copy',
    'vda',
    '--dest',
    path.join(dir, 'copy.qcow2'),
    '--pivot',
    '--bandwidth',
    '1',
  ]);
  t.equal(result.code, 1, `exit 1; stderr: ${result.stderr}`);
  t.match(result.stdout, /^Copy aborted$/m, 'the job it started is aborted');
  await nothingLeft(t, guest.client, 'copy');
});

t.test('copy: blockdev-add in flight: the node is removed, nothing started', async (t) => {
  const { guest, result } = await interruptInFlight(t, 'blockdev-add', (dir) => [
    'copy',
    'vda',
    '--dest',
    path.join(dir, 'copy.qcow2'),
    '--pivot',
    '--bandwidth',
    '1',
  ]);
  t.equal(result.code, 1, `exit 1; stderr: ${result.stderr}`);
  t.match(result.stderr, /blockdev-add had no answer yet/, 'says it waits for the reply');
  t.match(result.stdout + result.stderr, /nothing was started|Copy aborted/, 'says nothing runs');
  await nothingLeft(t, guest.client, 'copy');
});

t.test('group commit: the first block-commit in flight is cancelled, and the bases are said to be partly written', async (t) => {
  const { guest, result } = await interruptInFlight(t, 'block-commit', () => ['commit', 'vda', 'vdb', '--pivot', '--bandwidth', '1']);
  t.equal(result.code, 1, `exit 1; stderr: ${result.stderr}`);
  t.notMatch(result.stderr, /nothing was started/, 'never "nothing was started" while a job runs');
  t.match(result.stderr, /partly written/, 'says the bases were partly written');
  await nothingLeft(t, guest.client, 'group commit');
  t.same(await guest.client.execute('query-block-jobs'), [], 'no block job either');
});

t.test('snapshot: a transaction in flight is not called aborted: the guest runs on the new overlay, and it says so', async (t) => {
  const { guest, result } = await interruptInFlight(t, 'transaction', (dir) => ['snapshot', 'vda', '--file', path.join(dir, 'snap.qcow2')]);
  t.notMatch(result.stdout + result.stderr, /aborted/, `never "aborted" for a live overlay; stderr: ${result.stderr}`);
  t.match(result.stdout, /Snapshot created: vda now runs on .*snap\.qcow2/, 'says the guest runs on the overlay');
  const disks = await listDisks(guest.client);
  t.equal(disks.find((d) => d.qdevId === 'vda')?.layers.at(-1)?.file, path.join(guest.dir, 'snap.qcow2'), 'the guest does run on it');
});

for (const signal of ['SIGHUP', 'SIGTERM', 'SIGQUIT', 'SIGPIPE'] as const) {
  t.test(`commit: ${signal} while block-commit is in flight ends as Ctrl-C does`, async (t) => {
    const { guest, result } = await interruptInFlight(t, 'block-commit', () => ['commit', 'vda', '--active', '--pivot', '--bandwidth', '1'], signal);
    t.equal(result.signal, null, `not killed by ${signal}`);
    t.equal(result.code, 1, `exit 1; stderr: ${result.stderr}`);
    t.match(result.stdout, /^Commit aborted$/m, 'the job it started is aborted');
    await nothingLeft(t, guest.client, 'commit');
  });
}

t.test('commit without --wait: the job its in-flight start began is aborted too, never left running as "started"', async (t) => {
  const { guest, result } = await interruptInFlight(t, 'block-commit', () => ['commit', 'vda', '--active', '--bandwidth', '1']);
  t.equal(result.code, 1, `exit 1; stderr: ${result.stderr}`);
  t.notMatch(result.stdout, /Block Commit started/, 'not "started" after the interrupt');
  t.match(result.stdout, /^Commit aborted$/m, 'the job it started is aborted');
  await nothingLeft(t, guest.client, 'commit');
});
