// A job on the model copies at the client's own speed, as QEMU's rate limit does: query-block-jobs shows
// its offset growing (never ahead of speed × time), READY comes once len bytes could be copied, a job
// throttled to 1 byte/s stays where it is until its client raises the speed (block-job-set-speed), and
// --instant (no recorded time) copies an unthrottled job at once but a throttled one still at its speed.
// Real time is what is measured here; every wait is bounded.
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { startMockQmp } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import { fixtureSets } from './helpers/recorded.js';

const MiB = 1024 * 1024;
const WAIT = { timeoutMs: 10_000 };

async function serve(t: { teardown(f: () => unknown): void }, file: string, instant = false) {
  const mock = await startMockQmp({ trace: file, model: true, instant });
  t.teardown(() => mock.close());
  const client = await connect(mock.address, { connectTimeoutMs: 2000 });
  t.teardown(() => client.close());
  return client;
}

for (const set of fixtureSets()) {
  const file = path.join(set.dir, 'raw', 'active-commit-pivot.jsonl');

  t.test(`${set.name}: a commit at 16 MiB/s`, async (t) => {
    const client = await serve(t, file);
    const speed = 16 * MiB;
    const ready = client.waitForEvent('BLOCK_JOB_READY', { device: 'mine' }, WAIT);
    const start = performance.now();
    await client.execute('block-commit', { 'job-id': 'mine', device: 'c', speed });
    const seen: Array<{ offset: number; len: number; ms: number }> = [];
    let done = false;
    void ready.then(
      () => {
        done = true;
      },
      () => {},
    );
    while (!done && performance.now() - start < WAIT.timeoutMs) {
      const [job] = await client.execute('query-block-jobs');
      if (job && job.status === 'running') seen.push({ offset: job.offset, len: job.len, ms: performance.now() - start });
      await delay(25);
    }
    const event = await ready;
    const elapsed = performance.now() - start;
    const len = event.data.len;
    t.ok(elapsed >= (len / speed) * 1000 - 20, `READY after ${elapsed.toFixed(0)} ms: not before len/speed = ${((len / speed) * 1000).toFixed(0)} ms`);
    t.ok(seen.length >= 3, `query-block-jobs answered ${seen.length} times while the job ran`);
    t.ok(
      seen.every((s) => s.len === len),
      "len is the job's length throughout",
    );
    t.ok(
      seen.some((s) => s.offset > 0 && s.offset < len),
      `some offsets were between 0 and len: ${seen.map((s) => s.offset).join(', ')}`,
    );
    t.ok(
      seen.every((s, i) => i === 0 || s.offset >= seen[i - 1]!.offset),
      'offset never goes back',
    );
    t.ok(
      seen.every((s) => s.offset <= (speed * s.ms) / 1000 + 1),
      'offset never ahead of speed × time',
    );
  });

  t.test(`${set.name}: a commit throttled to 1 byte/s until its client lifts the throttle`, async (t) => {
    const client = await serve(t, file);
    let ready = false;
    const readyEvent = client.waitForEvent('BLOCK_JOB_READY', { device: 'mine' }, WAIT);
    void readyEvent.then(
      () => {
        ready = true;
      },
      () => {},
    );
    await client.execute('block-commit', { 'job-id': 'mine', device: 'c', speed: 1 });
    await delay(300);
    const [slow] = await client.execute('query-block-jobs');
    t.same([slow?.status, ready, slow!.offset <= 1], ['running', false, true], 'after 300 ms at 1 byte/s: still running, at most a byte copied, no READY');
    await client.execute('block-job-set-speed', { device: 'mine', speed: 0 });
    const event = await readyEvent;
    t.equal(event.data.speed, 0, 'READY once the client lifted the throttle, with its speed');
    const [after] = await client.execute('query-block-jobs');
    t.same([after?.status, after?.offset], ['ready', event.data.len], 'the job is ready, all copied');
  });

  t.test(`${set.name}: --instant: an unthrottled copy at once, a throttled one still at its speed`, async (t) => {
    const client = await serve(t, file, true);
    const ready = client.waitForEvent('BLOCK_JOB_READY', { device: 'fast' }, { timeoutMs: 2000 });
    await client.execute('block-commit', { 'job-id': 'fast', device: 'c' });
    const fast = await ready;
    t.equal(fast.data.offset, fast.data.len, 'READY at once under --instant for an unthrottled job');
    const since = client.eventCursor();
    await client.execute('job-complete', { id: 'fast' });
    await client.waitForEvent('JOB_STATUS_CHANGE', { id: 'fast', status: 'null' }, { timeoutMs: 2000, since });
    const start = performance.now();
    const slow = client.waitForEvent('BLOCK_JOB_READY', { device: 'slow' }, WAIT);
    await client.execute('block-commit', { 'job-id': 'slow', device: 'c', speed: 32 * MiB });
    const event = await slow;
    const elapsed = performance.now() - start;
    t.ok(
      elapsed >= (event.data.len / (32 * MiB)) * 1000 - 20,
      `READY of a 32 MiB/s job after ${elapsed.toFixed(0)} ms under --instant: the client's speed still paces it`,
    );
  });
}
