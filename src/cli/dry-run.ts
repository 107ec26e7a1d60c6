/* `commit … --dry-run` / `pull … --dry-run`: the plan, read from the live chain; nothing is started. */
import { readChainAllocation } from '../block/allocation.js';
import type { CommitRange, PullRange } from '../block/types.js';
import { planCommit, planPull, type JobPlan } from '../jobs/plan.js';
import type { CliContext } from './context.js';
import { renderPlan } from './plan-view.js';

export async function printPlan(context: CliContext, range: { commit: CommitRange; pivot: boolean } | { pull: PullRange }, speed: number | undefined): Promise<number> {
  const disk = 'commit' in range ? range.commit.disk : range.pull.disk;
  const allocation = await readChainAllocation(disk, { signal: context.signal });
  const options = speed !== undefined ? { speed } : {};
  const plan: JobPlan = 'commit' in range ? planCommit(range.commit, allocation, { ...options, pivot: range.pivot }) : planPull(range.pull, allocation, options);
  const out = context.out;
  if (out.json) {
    const { type, copyBytes, invalidated, stillValid, layers, etaSeconds, job, qemuLen, leavesChain, reasons, notes } = plan;
    out.result(undefined, {
      type, job, disk: plan.disk, copyBytes, qemuLen, invalidated, stillValid, leavesChain, reasons,
      layers: layers.map(({ file, node, index, allocatedBytes, extents }) => ({ file, node, index, allocatedBytes, extents })),
      ...(etaSeconds !== undefined ? { etaSeconds } : {}), notes,
    });
  } else {
    out.text(`${renderPlan(plan, out.columns).join('\n')}\n`);
  }
  return 0;
}
