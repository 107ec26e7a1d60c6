// Every signal that ends a terminal session or a process (HUP: the ssh connection drops; TERM;
// INT: Ctrl-C; QUIT: Ctrl-\; PIPE sent by a pipeline) gets the orderly end Ctrl-C gets: the commit
// is aborted ("Commit aborted", exit 1), the guest's I/O limits that --converge throttle=1 had
// lowered are put back exactly, and no job is left. SIGHUP once left the guest at 1 MiB/s with its
// old limits lost, the job running and exit 129. And a signal while the limit's own
// block_set_io_throttle is in flight (its reply held by a proxy) still ends with the limits restored.
import path from 'node:path';
import t from 'tap';
import { finished, startCli, waitForLine } from './helpers/cli.js';
import { holdReplyTo } from './helpers/held-reply.js';
import { ORIGINAL, guestWithOverlay, guestWriter } from './helpers/outpaced-guest.js';

// Each subtest has its own QEMU and CLI and spends most of its time in the guard's 4 s window: three
// at a time (buffered), so the file takes two windows' time instead of six.
t.jobs = 3;

for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGPIPE'] as const) {
  t.test(`${signal} while the guest is throttled: the job is aborted and the limits restored`, async (t) => {
    const { client, cli } = await guestWithOverlay(t);
    const stop = new AbortController();
    const writer = guestWriter(client, stop.signal);
    const commit = startCli(['commit', 'vda', '--active', '--pivot', '--bandwidth', '4', '--converge', 'throttle=1', '--json', '--socket', cli]);
    t.teardown(() => commit.kill('SIGKILL'));
    const ended = finished(commit, 60_000);
    try {
      await waitForLine(commit, (l) => l.includes('"type":"throttling"'), 20_000);
    } finally {
      commit.kill(signal);
    }
    const result = await ended;
    stop.abort();
    await writer.done;
    t.equal(result.signal, null, `not killed by ${signal}`);
    t.equal(result.code, 1, `${signal} aborts the commit: exit 1; stderr: ${result.stderr}`);
    t.match(result.stdout, /Commit aborted/, "virsh's words for the abort");
    t.match(result.stdout, /"type":"throttle"/, 'the throttle time is reported on the way out');
    const inserted = (await client.execute('query-block')).find((b) => b.qdev?.includes('/vda/'))?.inserted;
    t.same(inserted && Object.fromEntries(Object.keys(ORIGINAL).map((k) => [k, inserted[k]])), ORIGINAL, `the original limits are back after ${signal}`);
    t.same(await client.execute('query-block-jobs'), [], 'no job remains');
  });
}

t.test('SIGINT while block_set_io_throttle is in flight: its reply is awaited, then the limits are restored', async (t) => {
  const { client, cli } = await guestWithOverlay(t);
  const proxy = await holdReplyTo(t, path.dirname(cli), cli, 'block_set_io_throttle');
  const stop = new AbortController();
  const writer = guestWriter(client, stop.signal);
  const commit = startCli(['commit', 'vda', '--active', '--pivot', '--bandwidth', '4', '--converge', 'throttle=1', '--json', '--socket', proxy.path]);
  t.teardown(() => commit.kill('SIGKILL'));
  let stderr = '';
  const acknowledged = new Promise<void>((resolve) =>
    commit.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/block_set_io_throttle had no answer yet/.test(stderr)) resolve();
    }),
  );
  const ended = finished(commit, 60_000);
  await proxy.held;
  const limited = (await client.execute('query-block')).find((b) => b.qdev?.includes('/vda/'))?.inserted;
  t.equal(limited?.bps_wr, 1 << 20, 'QEMU has set the limit (its reply is held)');
  commit.kill('SIGINT');
  await Promise.race([acknowledged, ended]);
  proxy.release();
  const result = await ended;
  stop.abort();
  await writer.done;
  t.equal(result.code, 1, `aborted: exit 1; stderr: ${result.stderr}`);
  t.match(result.stdout, /Commit aborted/, "virsh's words for the abort");
  const inserted = (await client.execute('query-block')).find((b) => b.qdev?.includes('/vda/'))?.inserted;
  t.same(inserted && Object.fromEntries(Object.keys(ORIGINAL).map((k) => [k, inserted[k]])), ORIGINAL, 'the original limits are back');
  t.same(await client.execute('query-block-jobs'), [], 'no job remains');
});
