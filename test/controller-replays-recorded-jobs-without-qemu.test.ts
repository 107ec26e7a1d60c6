// The commit controller's scenarios, recorded from a real QEMU by `npm run record-fixtures`, replayed by
// mock-qmp: the controller reaches the same outcome through the same job states — with the recorded job
// id, and with another id that mock-qmp maps onto the recorded one; by the replay and by the model
// (`model: true`). No QEMU runs here.
import path from 'node:path';
import t from 'tap';
import { startMockQmp } from '../mock-qmp/index.js';
import { controllerScenarios } from '../mock-qmp/controller-scenarios.js';
import { fixturePath, fixtureSets, tempDir } from './helpers/qemu.js';
import { connect } from '../src/connect.js';

for (const set of fixtureSets())
  for (const scenario of controllerScenarios) {
    for (const [jobId, model] of [
      [undefined, false],
      ['another-name', false],
      [undefined, true],
      ['another-name', true],
    ] as const) {
      t.test(`${set}/${scenario.name}${jobId ? ` with job id ${jobId}` : ''}${model ? ' (model)' : ''}`, async (t) => {
        const dir = tempDir(t);
        const mock = await startMockQmp({ trace: fixturePath(`${scenario.name}.jsonl`, set), socket: path.join(dir, 'mock.sock'), instant: true, model });
        t.teardown(() => mock.close());
        const client = await connect({ path: mock.path! }, { connectTimeoutMs: 5000 });
        t.teardown(() => client.close());
        const summary = await scenario.run(client, {
          ...(jobId ? { jobId } : {}),
          // The recording's QEMU died here; the replay closes the connection at the same point by itself.
          kill: async () => undefined,
        });
        t.same(summary, scenario.expect, `${scenario.name}: the replay should give the recorded outcome and the whole state sequence`);
      });
    }
  }
