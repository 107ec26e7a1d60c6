// `snapshot --quiesce`, `checkpoint create --quiesce`: the library's quiesced creation with the CLI's agent, and what was frozen said.
import type { SnapshotSpec } from '../block/snapshot.js';
import type { BlockQueryClient } from '../block/chain.js';
import type { DiskCheckpoints } from '../block/checkpoints.js';
import type { DiskChain } from '../block/types.js';
import { createQuiescedCheckpoint, createQuiescedSnapshots, type Quiesced, type QuiesceOptions } from '../block/quiesce.js';
import { parseSeconds } from './args.js';
import { openGuestAgent } from './agent.js';
import type { CliContext } from './context.js';

/** The quiesce options of `command` (--agent, --freeze-timeout) → the agent opened, `create` run with it, the freeze said. */
async function quiesced<T extends Quiesced>(
  context: CliContext,
  command: string,
  agentPath: string | undefined,
  freezeTimeout: string | undefined,
  create: (options: QuiesceOptions) => Promise<T>,
): Promise<T> {
  const freezeTimeoutMs = freezeTimeout === undefined ? undefined : parseSeconds(freezeTimeout, '--freeze-timeout', command) * 1000;
  const agent = await openGuestAgent(context, agentPath, command);
  try {
    const result = await create({ agent, signal: context.signal, ...(freezeTimeoutMs !== undefined ? { freezeTimeoutMs } : {}) });
    context.out.result(`Quiesced: froze ${result.filesystems.join(', ')} for ${result.frozenMs} ms, thawed`, {
      type: 'quiesced',
      filesystems: result.filesystems,
      frozenCount: result.frozenCount,
      frozenMs: result.frozenMs,
    });
    return result;
  } finally {
    agent.close();
  }
}

export async function quiescedSnapshots(
  context: CliContext,
  client: BlockQueryClient,
  specs: readonly SnapshotSpec[],
  agentPath: string | undefined,
  freezeTimeout: string | undefined,
): Promise<DiskChain[]> {
  return (await quiesced(context, 'snapshot', agentPath, freezeTimeout, (options) => createQuiescedSnapshots(client, specs, options))).chains;
}

export async function quiescedCheckpoint(
  context: CliContext,
  client: BlockQueryClient,
  name: string,
  disks: readonly string[] | undefined,
  agentPath: string | undefined,
  freezeTimeout: string | undefined,
): Promise<DiskCheckpoints[]> {
  const create = (options: QuiesceOptions) => createQuiescedCheckpoint(client, name, { ...options, ...(disks?.length ? { disks } : {}) });
  return (await quiesced(context, 'checkpoint', agentPath, freezeTimeout, create)).disks;
}
