// Where the recorded QEMU died with a job running, the model's QEMU dies for any client's job: a client
// that starts its own commit (its own job id and speed, not the recording's) gets EOF at the recorded
// point — after the recorded time while it waits (timed), or after as many commands as the recording's
// client sent (--instant, a client polling query-jobs) — and so does a second connection that only
// listens; a connection made afterwards is closed at once. Never a connection left open until the
// client gives up: every wait here is bounded well below any client's timeout.
import t from 'tap';
import { startMockQmp } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import type { QmpClient } from '../../src/protocol/client.js';
import { fixtureFile, fixtureSets } from './helpers/recorded.js';

const BOUND_MS = 2500;

function eof(client: QmpClient): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no EOF within ${BOUND_MS} ms`)), BOUND_MS);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - start);
    });
  });
}

const cases = [
  { file: 'raw/qemu-killed.jsonl', device: 'c' },
  { file: 'qemu-killed-mid-job.jsonl', device: 'drive0' },
  { file: 'controller-qemu-killed.jsonl', device: 'drive0' },
];

for (const set of fixtureSets())
  for (const c of cases)
    for (const instant of [false, true]) {
      const file = fixtureFile(set, c.file);
      if (!file) continue;
      t.test(`${set.name}/${c.file}${instant ? ' --instant' : ''}: a client's own job gets EOF where QEMU died`, async (t) => {
        const mock = await startMockQmp({ trace: file, model: true, instant });
        t.teardown(() => mock.close());
        const listener = await connect(mock.address, { connectTimeoutMs: 2000 });
        const client = await connect(mock.address, { connectTimeoutMs: 2000 });
        t.teardown(() => Promise.all([client.close(), listener.close()]));
        const ends = [eof(client), eof(listener)];
        t.same(await client.execute('block-commit', { 'job-id': 'mine', device: c.device, speed: 4096 }), {}, "the client's own commit is accepted");
        if (instant) {
          // No recorded time: QEMU dies after as many commands as the recording's client sent after the job.
          void (async () => {
            for (let i = 0; i < 20; i++) await client.execute('query-jobs').catch(() => undefined);
          })();
        }
        const [mine, other] = await Promise.all(ends);
        t.pass(`EOF for the job's client after ${mine!.toFixed(0)} ms, for the listening connection after ${other!.toFixed(0)} ms`);
        await t.rejects(connect(mock.address, { connectTimeoutMs: 2000 }), 'a connection after QEMU died is closed before a greeting');
      });
    }
