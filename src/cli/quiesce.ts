// `snapshot --quiesce`: the library's createQuiescedSnapshots with the CLI's agent, and what was frozen said.
import type { SnapshotSpec } from '../block/snapshot.js';
import type { BlockQueryClient } from '../block/chain.js';
import type { DiskChain } from '../block/types.js';
import { createQuiescedSnapshots } from '../block/quiesce.js';
import { parseSeconds } from './args.js';
import { openGuestAgent } from './agent.js';
import type { CliContext } from './context.js';

export async function quiescedSnapshots(
  context: CliContext,
  client: BlockQueryClient,
  specs: readonly SnapshotSpec[],
  agentPath: string | undefined,
  freezeTimeout: string | undefined,
): Promise<DiskChain[]> {
  const freezeTimeoutMs = freezeTimeout === undefined ? undefined : parseSeconds(freezeTimeout, '--freeze-timeout', 'snapshot') * 1000;
  const agent = await openGuestAgent(context, agentPath, 'snapshot');
  try {
    const result = await createQuiescedSnapshots(client, specs, {
      agent,
      signal: context.signal,
      ...(freezeTimeoutMs !== undefined ? { freezeTimeoutMs } : {}),
    });
    context.out.result(`Quiesced: froze ${result.filesystems.join(', ')} for ${result.frozenMs} ms, thawed`, {
      type: 'quiesced',
      filesystems: result.filesystems,
      frozenCount: result.frozenCount,
      frozenMs: result.frozenMs,
    });
    return result.chains;
  } finally {
    agent.close();
  }
}
