// A guest that writes all the time against an active commit held by --bandwidth: the CLI says
// "not converging" with both rates within 10 s; with --converge throttle=1 the guest's writes are
// limited until the pivot, the commit reaches READY and pivots, the guest's own I/O limits are back
// exactly as they were, and base holds every write the guest made (checked after QEMU quits).
import path from 'node:path';
import t from 'tap';
import { qemuIo, resolveDisk } from '../src/internal.js';
import { finished, jsonLines, startCli, waitForLine } from './helpers/cli.js';
import { CHUNK_KIB, ORIGINAL, guestWithOverlay, guestWriter } from './helpers/outpaced-guest.js';

// Each subtest has its own QEMU and CLI and mostly waits (the guard's 4 s window, a 4 MiB/s copy):
// two at a time (buffered; four at once slowed the 10 s verdict past its bound on a loaded host),
// in an order that pairs each long one (READY at 4 MiB/s) with a short one.
t.jobs = 2;

t.test('not converging is said within 10 s, with both rates', async (t) => {
  const { client, cli } = await guestWithOverlay(t);
  const stop = new AbortController();
  const writer = guestWriter(client, stop.signal);
  const commit = startCli(['commit', 'vda', '--active', '--keep-overlay', '--bandwidth', '4', '--json', '--socket', cli]);
  const ended = finished(commit, 60_000);
  try {
    const line = await waitForLine(commit, (l) => l.includes('"type":"convergence"'), 10_000);
    const verdict = JSON.parse(line) as { converging: boolean; guestBytesPerSecond: number; copyBytesPerSecond: number };
    t.equal(verdict.converging, false, 'the verdict is "not converging"');
    t.ok(verdict.copyBytesPerSecond <= 8 << 20, `the copy rate is held by the 4 MiB/s bandwidth (${verdict.copyBytesPerSecond})`);
    t.ok(verdict.guestBytesPerSecond >= verdict.copyBytesPerSecond, `the guest writes faster than the job copies (${verdict.guestBytesPerSecond})`);
  } finally {
    commit.kill('SIGINT');
    stop.abort();
  }
  const result = await ended;
  await writer.done;
  t.match(
    result.stderr,
    /not converging: guest writes [\d.]+ MiB\/s, copy [\d.]+ MiB\/s .*'--converge throttle=N'/,
    `the human warning names both rates and the way out; stderr: ${result.stderr}`,
  );
  t.same(await client.execute('query-block-jobs'), [], 'Ctrl-C aborted the job');
});

t.test('--converge throttle=1 reaches READY, pivots, and restores the limits', async (t) => {
  const { client, cli, base, exited } = await guestWithOverlay(t);
  const stop = new AbortController();
  const writer = guestWriter(client, stop.signal);
  const commit = startCli(['commit', 'vda', '--active', '--pivot', '--bandwidth', '4', '--converge', 'throttle=1', '--json', '--socket', cli]);
  const result = await finished(commit, 90_000);
  stop.abort();
  await writer.done;
  t.equal(result.code, 0, `the commit pivots; stderr: ${result.stderr}`);
  const lines = jsonLines(result.stdout);
  const types = lines
    .map((l) => (l.type === 'event' ? l.event : l.type))
    .filter((x) => ['convergence', 'BLOCK_JOB_READY', 'BLOCK_JOB_COMPLETED', 'throttle'].includes(String(x)));
  t.same(
    types,
    ['convergence', 'BLOCK_JOB_READY', 'BLOCK_JOB_COMPLETED', 'throttle'],
    'not converging, then READY, the pivot, and the limit lifted, in that order',
  );
  const throttle = lines.find((l) => l.type === 'throttle') as { bytesPerSecond: number; seconds: number; restored: Record<string, unknown> } | undefined;
  t.equal(throttle?.bytesPerSecond, 1 << 20, 'the guest was held to 1 MiB/s');
  t.ok((throttle?.seconds ?? 0) > 0, 'the throttle time is reported');
  const inserted = (await client.execute('query-block')).find((b) => b.qdev?.includes('/vda/'))?.inserted;
  t.same(inserted && Object.fromEntries(Object.keys(ORIGINAL).map((k) => [k, inserted[k]])), ORIGINAL, "query-block shows the guest's original limits again");
  t.same(
    (await resolveDisk(client, 'vda')).layers.map((l) => l.file),
    [base],
    'the guest runs on base',
  );
  await client.execute('quit').catch(() => undefined);
  await exited;
  const checks = [...writer.last].map(([chunk, pattern]) => `read -P ${pattern} ${chunk * CHUNK_KIB}k ${CHUNK_KIB}k`);
  t.ok(checks.length > 0, 'the guest wrote');
  await t.resolves(qemuIo(base, checks, { format: 'raw' }), 'base holds the last write of every chunk the guest wrote');
});

t.test('a copy the guest outpaces: --converge throttle=1 gets it to READY and onto the destination', async (t) => {
  const { client, cli } = await guestWithOverlay(t);
  const stop = new AbortController();
  const writer = guestWriter(client, stop.signal);
  const dest = path.join(path.dirname(cli), 'copy.qcow2');
  const copy = startCli(['copy', 'vda', '--dest', dest, '--pivot', '--bandwidth', '4', '--converge', 'throttle=1', '--json', '--socket', cli]);
  const result = await finished(copy, 90_000);
  stop.abort();
  await writer.done;
  t.equal(result.code, 0, `the copy pivots; stderr: ${result.stderr}`);
  const types = jsonLines(result.stdout)
    .map((l) => l.type)
    .filter((x) => ['convergence', 'throttling', 'throttle'].includes(String(x)));
  t.same(types, ['convergence', 'throttling', 'throttle'], 'not converging, the guest held, then released');
  const inserted = (await client.execute('query-block')).find((b) => b.qdev?.includes('/vda/'))?.inserted;
  t.same(inserted && Object.fromEntries(Object.keys(ORIGINAL).map((k) => [k, inserted[k]])), ORIGINAL, 'the original limits are back');
  t.same((await resolveDisk(client, 'vda')).layers.at(-1)?.file, dest, 'the guest runs on the destination');
});

t.test('Ctrl-C while the guest is throttled: the job is aborted and the limits restored', async (t) => {
  const { client, cli } = await guestWithOverlay(t);
  const stop = new AbortController();
  const writer = guestWriter(client, stop.signal);
  const commit = startCli(['commit', 'vda', '--active', '--pivot', '--bandwidth', '4', '--converge', 'throttle=1', '--json', '--socket', cli]);
  const ended = finished(commit, 60_000);
  try {
    await waitForLine(commit, (l) => l.includes('"type":"throttling"'), 15_000);
    const limited = (await client.execute('query-block')).find((b) => b.qdev?.includes('/vda/'))?.inserted;
    t.equal(limited?.bps_wr, 1 << 20, "while throttled, the guest's writes are held to 1 MiB/s");
  } finally {
    commit.kill('SIGINT');
  }
  const result = await ended;
  stop.abort();
  await writer.done;
  t.equal(result.code, 1, `Ctrl-C aborts; stderr: ${result.stderr}`);
  t.match(result.stdout, /Commit aborted/, "virsh's words for the abort");
  t.match(result.stdout, /"type":"throttle"/, 'the throttle time is reported on the way out too');
  const inserted = (await client.execute('query-block')).find((b) => b.qdev?.includes('/vda/'))?.inserted;
  t.same(inserted && Object.fromEntries(Object.keys(ORIGINAL).map((k) => [k, inserted[k]])), ORIGINAL, 'the original limits are back after Ctrl-C');
  t.same(await client.execute('query-block-jobs'), [], 'no job remains');
});
