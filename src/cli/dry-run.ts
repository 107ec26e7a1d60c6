/* `commit … --dry-run` / `pull … --dry-run`: the plan, read from the live chain; nothing is started. */
import { readChainAllocation } from '../block/allocation.js';
import { diskLabel, hasUser } from '../block/chain.js';
import type { CommitRange, DiskChain, PullRange } from '../block/types.js';
import { planCommit, planPull, type JobPlan } from '../jobs/plan.js';
import type { CliContext } from './context.js';
import { renderPlan } from './plan-view.js';

export async function printPlan(context: CliContext, range: { commit: CommitRange; pivot: boolean; others?: readonly DiskChain[] } | { pull: PullRange }, speed: number | undefined): Promise<number> {
  const disk = 'commit' in range ? range.commit.disk : range.pull.disk;
  const allocation = await readChainAllocation(disk, { signal: context.signal });
  const options = speed !== undefined ? { speed } : {};
  const plan: JobPlan = 'commit' in range ? planCommit(range.commit, allocation, { ...options, pivot: range.pivot, otherDisks: (range.others ?? []).filter((d) => hasUser(d)).map((d) => ({ label: d.target ?? d.qdevId ?? diskLabel(d), files: d.layers.map((l) => l.file) })) }) : planPull(range.pull, allocation, options);
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
