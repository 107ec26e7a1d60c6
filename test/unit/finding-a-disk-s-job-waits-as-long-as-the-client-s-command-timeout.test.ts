// The job layer's lookups (findDiskJob, isActiveCommit) take the client's configured command timeout
// when given none, as every other call does: a client opened with commandTimeoutMs 100 gives up on a
// monitor that never answers after 100 ms, not after a default of its own.
import t from 'tap';
import { QmpClient, QmpTimeoutError } from '../../src/internal.js';
import type { DiskChain } from '../../src/block/types.js';
import { findDiskJob, isActiveCommit } from '../../src/jobs/discovery.js';
import { negotiatingTransport } from './helpers/fake-transport.js';

const disk: DiskChain = { device: 'drive0', layers: [{ index: 1, nodeName: 'n0', file: '/i/base.qcow2', format: 'qcow2', virtualSize: 1 << 20 }] };

/** What `work` settles as within `ms`, or 'still waiting'. */
async function within<T>(ms: number, work: Promise<T>): Promise<T | unknown> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), ms);
  });
  try {
    return await Promise.race([work.catch((error: unknown) => error), bound]);
  } finally {
    clearTimeout(timer);
  }
}

t.test("a monitor that never answers: the lookups give up after the client's commandTimeoutMs", async (t) => {
  const transport = negotiatingTransport(() => {
    /* QEMU never answers */
  });
  const client = await QmpClient.open(transport, { commandTimeoutMs: 100 });
  t.teardown(() => client.close());
  const found = await within(5000, findDiskJob(client, disk));
  t.ok(found instanceof QmpTimeoutError && found.timeoutMs === 100, `findDiskJob should time out after the client's 100 ms, got: ${String(found)}`);
  const active = await within(5000, isActiveCommit(client, { type: 'commit', device: 'j', ready: false } as never, undefined));
  t.ok(active instanceof QmpTimeoutError && active.timeoutMs === 100, `isActiveCommit should time out after the client's 100 ms, got: ${String(active)}`);
});
