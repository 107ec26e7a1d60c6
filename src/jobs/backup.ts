/*
 * A push-mode backup (virsh backup-begin), on the shared job core: blockdev-backup of each disk's
 * guest view, as it was at the start, into a new standalone qcow2 file. Full, or incremental since
 * a checkpoint: that checkpoint's bitmaps down the chain (snapshots and jobs spread and merge them)
 * are merged into a temporary bitmap the job reads. A new checkpoint can start at the same instant,
 * so the next incremental begins exactly where this one ended. Every disk's start is one transaction.
 * The disks complete as a group: QEMU's completion-mode "grouped" where it can, but it refuses it
 * for a transaction with bitmap actions (measured on QEMU 7.2), so there the group is kept here: one
 * disk's failure aborts the others, and the new checkpoint is kept only when every disk's backup
 * completed. The temporary bitmap and the target node always go.
 */
import { JOB_KINDS } from './kinds.js';
import { readBitmaps } from '../block/bitmaps.js';
import { callerDiskName, describeDisk } from '../block/chain.js';
import type { DiskChain } from '../block/types.js';
import { QmpCommandError } from '../errors.js';
import type { QmpClient } from '../protocol/client.js';
import { executeCreating } from '../protocol/in-flight.js';
import { jobVerbs } from '../protocol/capabilities.js';
import type { TransactionAction } from '../qapi/types.js';
import { BlockJob, type JobInit } from './core.js';
import { busyDiskError, defaultBackupJobId, preflight } from './discovery.js';
import { diskContext, JobCommandError, JobOptionError } from './errors.js';
import { planMirror, type MirrorPlan } from './mirror-options.js';
import { addTargetNode, prepareDestination, removeTargetNode } from './mirror-target.js';
import { JOB_EVENT_NAMES, JobStateMachine } from './state.js';
import type { JobResult } from './types.js';

export interface BackupSpec {
  disk: DiskChain;
  /** Absolute path of the new qcow2 file; created exclusively, 0600, never through a link. */
  target: string;
}

export interface BackupOptions {
  /** Back up only what changed since this checkpoint (its bitmaps, merged down the chain). */
  incremental?: string | undefined;
  /** Start this new checkpoint (a persistent bitmap on each disk's active image) at the backup's instant. */
  checkpoint?: string | undefined;
  /** Bandwidth limit per disk in bytes per second; 0 (default) is unlimited. */
  speed?: number | undefined;
  commandTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface BackupResult extends JobResult {
  target: string;
  /** The checkpoint started with this backup, kept only when the backup completed. */
  checkpoint?: { name: string; kept: boolean };
}

/** What a backup of one disk would do (BackupJob.plan, --dry-run). */
export interface BackupPlan {
  /** The disk as the caller named it. */
  disk: string;
  jobId: string;
  /** The new qcow2 file it would write. */
  target: string;
  sync: 'full' | 'incremental';
  /** The checkpoint an incremental backup starts from. */
  incremental?: string;
  /** That checkpoint's bitmaps down the chain, merged into the one the job reads. */
  bitmaps: Array<{ file: string; node: string; dirtyBytes: number }>;
  /** Bytes it copies: the disk for a full backup; for an incremental, the bitmaps' sum, capped at the disk. */
  copyBytesAtMost: number;
  virtualSize: number;
  /** The checkpoint it would start at the same instant, on the disk's active image. */
  checkpoint?: { name: string; file: string; node: string };
}

interface Planned {
  spec: BackupSpec;
  id: string;
  plan: MirrorPlan;
  active: string;
  tempBitmap: string | undefined;
  sources: Array<{ node: string; name: string }>;
}

/** The jobs one transaction started: the checkpoint is kept once all completed; one failure aborts the rest. */
interface BackupGroup {
  jobs: BackupJob[];
  ended: number;
  failed: boolean;
  /** Each ended job's checkpoint record, updated when a later job of the group fails. */
  records: Array<{ name: string; kept: boolean }>;
}

export class BackupJob extends BlockJob<BackupResult> {
  private constructor(
    init: Omit<JobInit, 'kind' | 'label'>,
    private readonly planned: Planned,
    private readonly checkpoint: string | undefined,
    label: string,
    private readonly group: BackupGroup,
  ) {
    super({ ...init, kind: JOB_KINDS.backup.noun, label });
  }

  /** The new file this job writes. */
  get target(): string {
    return this.planned.spec.target;
  }

  /**
   * Starts a backup of every disk of `specs` in one transaction (grouped completion). Refused before
   * anything is created when a disk is busy, a target exists, or the incremental checkpoint is on no
   * image of a disk (or unusable there).
   */
  static async start(client: QmpClient, specs: readonly BackupSpec[], options: BackupOptions = {}): Promise<BackupJob[]> {
    return BackupJob.launch(client, (await BackupJob.prepare(client, specs, options)).planned, options);
  }

  /**
   * What start() would do, refused as start() refuses, with nothing created or started (--dry-run):
   * per disk its target, full or incremental since which checkpoint's bitmaps, and the new checkpoint.
   */
  static async plan(client: QmpClient, specs: readonly BackupSpec[], options: BackupOptions = {}): Promise<BackupPlan[]> {
    const { planned, bitmaps } = await BackupJob.prepare(client, specs, options);
    return planned.map((p) => {
      const sources = p.sources.map((s) => bitmaps.get(s.node)!.find((b) => b.name === s.name)!);
      const size = p.spec.disk.layers.at(-1)!.virtualSize;
      return {
        disk: describeDisk(p.spec.disk),
        jobId: p.id,
        target: p.spec.target,
        sync: p.tempBitmap ? 'incremental' : 'full',
        ...(options.incremental !== undefined ? { incremental: options.incremental } : {}),
        bitmaps: sources.map((b) => ({ file: b.file, node: b.node, dirtyBytes: b.count })),
        // An incremental copies the union of its checkpoint's bitmaps: at most their sum, at most the disk.
        copyBytesAtMost: p.tempBitmap
          ? Math.min(
              size,
              sources.reduce((sum, b) => sum + b.count, 0),
            )
          : size,
        virtualSize: size,
        ...(options.checkpoint !== undefined ? { checkpoint: { name: options.checkpoint, file: p.spec.disk.layers.at(-1)!.file, node: p.active } } : {}),
      };
    });
  }

  /** The checks and names start() and plan() share: nothing is created here. */
  private static async prepare(
    client: QmpClient,
    specs: readonly BackupSpec[],
    options: BackupOptions,
  ): Promise<{ planned: Planned[]; bitmaps: Awaited<ReturnType<typeof readBitmaps>> }> {
    const timeoutMs = options.commandTimeoutMs ?? client.commandTimeoutMs;
    if (specs.length === 0) throw new JobOptionError('no disk to back up', {});
    const nodes = await client.execute('query-named-block-nodes', { flat: true }, { timeoutMs });
    const used = new Set(nodes.flatMap((n) => n['node-name'] ?? []));
    const bitmaps = await readBitmaps(client, { timeoutMs });
    const planned: Planned[] = [];
    for (const spec of specs) {
      const id = defaultBackupJobId(spec.disk);
      const context = diskContext(spec.disk, id);
      const plan = planMirror(spec.disk, { file: spec.target, format: 'qcow2' }, { jobId: id }, used);
      used.add(plan.nodeName);
      // The id is the disk's (no option chooses it): one taken means a backup of this disk runs already.
      const busy = busyDiskError(JOB_KINDS.backup, spec.disk, id, await preflight(client, spec.disk, id, timeoutMs), false, false);
      if (busy) throw busy;
      const active = spec.disk.layers.at(-1)!.nodeName;
      if (options.checkpoint !== undefined && spec.disk.layers.some((l) => bitmaps.get(l.nodeName)?.some((b) => b.name === options.checkpoint))) {
        throw new JobOptionError(`checkpoint '${options.checkpoint}' exists already on ${describeDisk(spec.disk)}`, context);
      }
      let sources: Array<{ node: string; name: string }> = [];
      if (options.incremental !== undefined) {
        const name = options.incremental;
        const found = spec.disk.layers.flatMap((l) => (bitmaps.get(l.nodeName) ?? []).filter((b) => b.name === name));
        if (!found.length)
          throw new JobOptionError(`checkpoint '${name}' is on no image of ${describeDisk(spec.disk)}: an incremental backup since it cannot be made`, context);
        const bad = found.find((b) => b.inconsistent);
        if (bad) throw new JobOptionError(`checkpoint '${name}' in ${bad.file} is inconsistent (QEMU stopped without saving it): make a full backup`, context);
        sources = found.map((b) => ({ node: b.node, name }));
      }
      planned.push({ spec, id, plan, active, tempBitmap: options.incremental !== undefined ? `${id}-since` : undefined, sources });
    }
    return { planned, bitmaps };
  }

  private static async launch(client: QmpClient, planned: Planned[], options: BackupOptions): Promise<BackupJob[]> {
    const timeoutMs = options.commandTimeoutMs ?? client.commandTimeoutMs;
    const created: Planned[] = [];
    try {
      for (const p of planned) {
        await prepareDestination(p.plan, p.spec.target, diskContext(p.spec.disk, p.id), options.signal, JOB_KINDS.backup);
        created.push(p);
        await addTargetNode(client, p.plan, p.spec.target, true, diskContext(p.spec.disk, p.id), timeoutMs, options.signal, JOB_KINDS.backup);
      }
    } catch (error) {
      for (const p of created) await removeTargetNode(client, p.plan.nodeName, timeoutMs);
      throw error;
    }

    const actions: TransactionAction[] = planned.flatMap((p): TransactionAction[] => [
      ...(p.tempBitmap
        ? [
            { type: 'block-dirty-bitmap-add', data: { node: p.active, name: p.tempBitmap, persistent: false } },
            { type: 'block-dirty-bitmap-merge', data: { node: p.active, target: p.tempBitmap, bitmaps: p.sources } },
          ]
        : []),
      ...(options.checkpoint !== undefined ? [{ type: 'block-dirty-bitmap-add', data: { node: p.active, name: options.checkpoint, persistent: true } }] : []),
      {
        type: 'blockdev-backup',
        data: {
          'job-id': p.id,
          device: p.active,
          target: p.plan.nodeName,
          sync: p.tempBitmap ? 'bitmap' : 'full',
          'auto-dismiss': true,
          ...(p.tempBitmap ? { bitmap: p.tempBitmap, 'bitmap-mode': 'never' } : {}),
          ...(options.speed ? { speed: options.speed } : {}),
        },
      },
    ]);
    // Read before the start: while a backup runs, its copy-before-write filter sits above the disk.
    const verbs = await jobVerbs(client, { timeoutMs });
    const grouped = actions.every((a) => a.type === 'blockdev-backup');
    const cursor = client.eventCursor();
    try {
      await executeCreating(
        client,
        'transaction',
        { actions, ...(grouped && planned.length > 1 ? { properties: { 'completion-mode': 'grouped' } } : {}) },
        { timeoutMs, signal: options.signal },
      );
    } catch (error) {
      for (const p of planned) await removeTargetNode(client, p.plan.nodeName, timeoutMs);
      const label = planned.map((p) => describeDisk(p.spec.disk)).join(', ');
      if (error instanceof QmpCommandError)
        throw new JobCommandError(
          `cannot start a backup of ${label} (the target files are left, empty: ${planned.map((p) => p.spec.target).join(', ')})`,
          diskContext(planned[0]!.spec.disk),
          error,
        );
      throw error;
    }
    // Synchronously from the reply on: the events before it from the history, the later ones from each job's stream.
    const history = client.recentEvents(cursor);
    const group: BackupGroup = { jobs: [], ended: 0, failed: false, records: [] };
    group.jobs = planned.map((p) => {
      const machine = new JobStateMachine(p.id);
      for (const event of history) if (JOB_EVENT_NAMES.includes(event.event)) machine.apply(event);
      const job = new BackupJob(
        {
          client,
          id: p.id,
          disk: p.spec.disk.device,
          machine,
          stream: client.events({ names: JOB_EVENT_NAMES, jobId: p.id }),
          resyncing: false,
          autoFinalize: true,
          autoDismiss: true,
          commandTimeoutMs: timeoutMs,
          verbs,
        },
        p,
        options.checkpoint,
        callerDiskName(p.spec.disk),
        group,
      );
      return job;
    });
    for (const job of group.jobs) job.begin();
    return group.jobs;
  }

  protected describeEnd(base: Omit<JobResult, 'outcome' | 'invalidated'> & { ended: 'completed' | 'aborted' | 'failed' }): BackupResult {
    const { ended, ...rest } = base;
    // A backup only reads the disk: nothing becomes invalid, nothing leaves the chain.
    const files = this.planned.spec.disk.layers.map((l) => l.file);
    return {
      ...rest,
      outcome: ended,
      invalidated: { files: [], stillValid: files, removedFromChain: [] },
      target: this.planned.spec.target,
      ...(this.checkpoint !== undefined ? { checkpoint: { name: this.checkpoint, kept: ended === 'completed' && !this.group.failed } } : {}),
    };
  }

  /**
   * Once QEMU's job ended: the temporary bitmap and the target node go. A failure aborts the group's
   * other jobs and removes the new checkpoint from every disk (it must not claim a backup that is not there).
   */
  protected override async release(result: BackupResult): Promise<BackupResult> {
    const { active, tempBitmap, plan } = this.planned;
    const group = this.group;
    group.ended++;
    if (result.checkpoint) group.records.push(result.checkpoint);
    if (tempBitmap) await this.removeBitmap(active, tempBitmap);
    if (result.outcome !== 'completed' && !group.failed) {
      group.failed = true;
      for (const job of group.jobs) if (job !== this) void job.requestCancel().catch(() => undefined);
      if (this.checkpoint !== undefined) {
        for (const job of group.jobs) await this.removeBitmap(job.planned.active, this.checkpoint);
        for (const record of group.records) record.kept = false;
      }
    } else if (group.failed && result.checkpoint) {
      result.checkpoint.kept = false;
    }
    await removeTargetNode(this.client, plan.nodeName, this.commandTimeoutMs);
    return result;
  }

  private async removeBitmap(node: string, name: string): Promise<void> {
    await this.client.executeUntyped('block-dirty-bitmap-remove', { node, name }, { timeoutMs: this.commandTimeoutMs }).catch(() => undefined);
  }

  protected interruptionImages(): string {
    return `a backup only reads the disk: every image of ${this.described} still reads right; ${this.planned.spec.target} may hold part of the backup — do not trust it`;
  }
}
