// query-jobs and query-block-jobs follow the model's state, not the transcript's position: a client of
// the model of raw/cancel-while-running.jsonl (whose QEMU listed job0 running) sees no job until one is started,
// then that job under its own id and speed, on its connection and on a second one.
import path from 'node:path';
import t from 'tap';
import { startMockQmp } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import { recordedReturns, fixtureSets } from './helpers/recorded.js';

for (const set of fixtureSets())
  t.test(`${set.name}: jobs as the model has them`, async (t) => {
    const file = path.join(set.dir, 'raw', 'cancel-while-running.jsonl');
    t.ok(
      recordedReturns(file, 'query-jobs').some((r) => Array.isArray(r) && r.length === 1),
      'the transcript should have listed its running job',
    );
    const mock = await startMockQmp({ trace: file, model: true });
    t.teardown(() => mock.close());
    const client = await connect(mock.address, { connectTimeoutMs: 2000 });
    t.teardown(() => client.close());
    t.same(await client.execute('query-jobs'), [], 'a fresh connection should list no job');
    t.same(await client.execute('query-block-jobs'), [], 'nor any block job');
    await client.execute('block-commit', { 'job-id': 'mine', device: 'c', speed: 4096 });
    const second = await connect(mock.address, { connectTimeoutMs: 2000 });
    t.teardown(() => second.close());
    const jobs = await second.execute('query-block-jobs');
    t.same(
      jobs.map((j) => [j.device, j.speed, j.status, j.type]),
      [['mine', 4096, 'running', 'commit']],
      "a second connection should see the client's job, with its id and speed",
    );
  });
