// The front door (src/index.ts) stays what docs/api.md documents: at most 47 runtime names (45, plus
// MonitorBusyError and the event guard isEvent an embedder needs), the three jobs among them;
// everything else is in qmp-blockjob/internal.
import t from 'tap';
import * as front from '../../src/index.js';
import * as internal from '../../src/internal.js';

t.test('the front door', async (t) => {
  const names = Object.keys(front);
  t.ok(names.length <= 47, `src/index.ts should export at most 47 runtime names, has ${names.length}: ${names.join(', ')}`);
  for (const name of ['connect', 'QmpClient', 'CommitJob', 'StreamJob', 'MirrorJob', 'listDisks', 'resolveCommitRange', 'QmpError', 'MonitorBusyError', 'isEvent']) t.ok(names.includes(name), `the front door should export ${name}`);
  const missing = names.filter((n) => !(n in internal));
  t.same(missing, [], 'qmp-blockjob/internal should have everything the front door has');
});
