/* `commit … --dry-run` / `pull … --dry-run` / `backup … --dry-run`: the plan, read from the live chain; nothing is started. */
import { readChainAllocation } from '../block/allocation.js';
import { diskLabel, hasUser } from '../block/chain.js';
import type { CommitRange, DiskChain, PullRange } from '../block/types.js';
import { checkBitmapMoves, commitBitmapSources, describeBitmapMoves, pullBitmapSources, type BitmapMove } from '../block/bitmaps.js';
import type { BlockQueryClient } from '../block/chain.js';
import { planCommit, planPull, type JobPlan } from '../jobs/plan.js';
import type { CliContext } from './context.js';
import { renderBackupPlan, renderPlan } from './plan-view.js';
import type { BackupPlan } from '../jobs/backup.js';
import { UsageError } from './args.js';
import { stringOption } from './context.js';
import { renderPlanHtml, renderPlanSvg } from './pictures/plan-picture.js';

export async function printPlan(
  context: CliContext,
  range: { commit: CommitRange; pivot: boolean; others?: readonly DiskChain[] } | { pull: PullRange },
  speed: number | undefined,
  client?: BlockQueryClient,
): Promise<number> {
  // --format svg|html: the same plan as a picture (checked before reading the images' maps).
  const format = stringOption(context, 'format');
  if (format !== undefined && !['text', 'svg', 'html'].includes(format))
    throw new UsageError(`--format with --dry-run is text, svg or html, got '${format}'`, 'commit');
  const disk = 'commit' in range ? range.commit.disk : range.pull.disk;
  // Which persistent bitmaps the job would carry where (and a refusal, by name, of one QEMU cannot use).
  const bitmaps: BitmapMove[] = !client
    ? []
    : 'commit' in range
      ? await checkBitmapMoves(client, commitBitmapSources(range.commit), range.commit.base, { disk: diskLabel(disk) })
      : range.pull.disk.layers.at(-1)
        ? await checkBitmapMoves(client, pullBitmapSources(range.pull), range.pull.disk.layers.at(-1)!, { disk: diskLabel(disk) })
        : [];
  const allocation = await readChainAllocation(disk, { signal: context.signal });
  const options = speed !== undefined ? { speed } : {};
  const plan: JobPlan =
    'commit' in range
      ? planCommit(range.commit, allocation, {
          ...options,
          pivot: range.pivot,
          otherDisks: (range.others ?? [])
            .filter((d) => hasUser(d))
            .map((d) => ({ label: d.target ?? d.qdevId ?? diskLabel(d), files: d.layers.map((l) => l.file) })),
        })
      : planPull(range.pull, allocation, options);
  const out = context.out;
  if (format === 'svg' || format === 'html') {
    out.text(format === 'svg' ? renderPlanSvg(plan) : renderPlanHtml(plan));
    return 0;
  }
  if (out.json) {
    const { type, copyBytes, invalidated, stillValid, layers, etaSeconds, job, qemuLen, leavesChain, reasons, notes } = plan;
    out.result(undefined, {
      type,
      job,
      disk: plan.disk,
      copyBytes,
      qemuLen,
      invalidated,
      stillValid,
      leavesChain,
      reasons,
      layers: layers.map(({ file, node, index, allocatedBytes, extents }) => ({ file, node, index, allocatedBytes, extents })),
      ...(etaSeconds !== undefined ? { etaSeconds } : {}),
      notes,
      bitmaps: bitmaps.map((m) => ({ name: m.name, from: m.from.map((f) => f.file), to: m.to.file, create: m.create, disabled: m.disabled })),
    });
  } else {
    const moves = describeBitmapMoves(bitmaps);
    out.text(`${renderPlan(plan, out.columns).join('\n')}\n${moves.length ? `${moves.join('\n')}\n` : ''}`);
  }
  return 0;
}

/** `backup … --dry-run`: BackupJob.plan's answer (refused as the backup would be), as text or one record per disk. */
export function printBackupPlan(context: CliContext, plans: readonly BackupPlan[]): number {
  const out = context.out;
  if (!out.json) {
    out.text(`${renderBackupPlan(plans).join('\n')}\n`);
    return 0;
  }
  for (const plan of plans) {
    const { disk, jobId, target, sync, incremental, bitmaps, copyBytesAtMost, virtualSize, checkpoint } = plan;
    out.result(undefined, {
      type: 'backup-plan',
      job: 'backup',
      disk,
      jobId,
      target,
      sync,
      incremental: incremental ?? null,
      bitmaps,
      copyBytesAtMost,
      virtualSize,
      checkpoint: checkpoint ?? null,
    });
  }
  return 0;
}
