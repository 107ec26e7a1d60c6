/*
 * A live copy (virsh blockcopy, QMP blockdev-mirror), on the shared job core: the disk's data goes
 * to a destination node, the job reaches READY and keeps both in sync until the caller decides:
 * pivot() (job-complete: the guest runs on the destination), finish() (cancel after READY: the
 * guest stays on the source, the destination holds a full copy) or abort(). Whenever the job ends
 * without a pivot, the destination's node is removed again; its file is never deleted.
 */
import type { DiskChain } from '../block/types.js';
import { QmpCommandError } from '../errors.js';
import type { QmpClient } from '../protocol/client.js';
import { commandHasArgument, qmpSchema } from '../protocol/capabilities.js';
import type { WaitOptions } from '../util/wait.js';
import { BlockJob } from './core.js';
import { attachById, kindInit, requireReady, startedJobInit, startFacts, type KindlessInit } from './job-kind-parts.js';
import { JOB_KINDS } from './kinds.js';
import { busyDiskError, defaultCopyJobId, preflight } from './discovery.js';
import { JobCommandError, JobUnsupportedError } from './errors.js';
import { launchJob, startJobCommand, startSignal } from './launch.js';
import { mirrorArguments, planMirror, type CopyMode, type MirrorOptions, type MirrorTarget } from './mirror-options.js';
import { JobBitmaps } from './job-bitmaps.js';
import { addTargetNode, prepareDestination, removeTargetNode, type TargetNodeFate } from './mirror-target.js';
import type { AttachOptions, JobResult } from './types.js';

/** The copy's destination, and after the end what became of its node. */
export interface MirrorDestination {
  /** The destination file; undefined when attached to a job whose target could not be read. */
  file: string | undefined;
  nodeName: string | undefined;
  /** This controller created the file (it is never deleted: after a failure it holds a partial copy). */
  created: boolean;
  /** Only the active layer was copied; the destination backs onto the disk's backing image. */
  shallow: boolean;
  /** Set once the job ended: removed after a finish, abort or failure; in-use after a pivot. */
  node?: TargetNodeFate | undefined;
  /** Why the node could not be removed (then it is left in QEMU: blockdev-del it by hand). */
  nodeError?: string | undefined;
}

export interface MirrorResult extends JobResult {
  destination: MirrorDestination;
}

export class MirrorJob extends BlockJob<MirrorResult> {
  /** Undefined for a job attached by id. */
  readonly source: DiskChain | undefined;
  private readonly target: MirrorDestination;
  /** The source's persistent bitmaps (the active layer's for a shallow copy), carried onto the destination before the pivot. */
  private bitmaps: JobBitmaps | undefined;

  private constructor(init: KindlessInit, source: DiskChain | undefined, target: MirrorDestination) {
    super(kindInit(JOB_KINDS.copy, init, source));
    this.source = source;
    this.target = target;
  }

  /**
   * Starts blockdev-mirror of `disk` onto `target`: the disk's jobs and chain are read once more
   * (ChainChangedError when another client changed it), the destination is created or checked, its
   * node added, then the job started. Whatever fails on the way, the node is removed again.
   */
  static async start(client: QmpClient, disk: DiskChain, target: MirrorTarget, options: MirrorOptions = {}): Promise<MirrorJob> {
    const facts = startFacts(client, disk, options, defaultCopyJobId);
    const { id, label, context, timeoutMs } = facts;
    const nodes = await client.execute('query-named-block-nodes', { flat: true }, { timeoutMs });
    const plan = planMirror(disk, target, options, new Set(nodes.flatMap((n) => n['node-name'] ?? [])));
    const found = await preflight(client, disk, id, timeoutMs);
    const busy = busyDiskError(JOB_KINDS.copy, disk, id, found, false);
    if (busy) throw busy;
    if (options.copyMode !== undefined && !(await commandHasArgument(client, 'blockdev-mirror', 'copy-mode', { timeoutMs }))) {
      throw new JobUnsupportedError(
        `cannot copy ${label} with copy mode ${options.copyMode}: this QEMU's blockdev-mirror has no copy-mode (QEMU 5.0+)`,
        context,
        'blockdev-mirror copy-mode',
      );
    }

    const signal = startSignal(options);
    // Refused here, by name, when a bitmap the pivot must carry cannot be used.
    const bitmaps = new JobBitmaps(
      client,
      (plan.sync === 'top' ? disk.layers.slice(-1) : [...disk.layers]).reverse(),
      { nodeName: plan.nodeName, file: target.file },
      label,
      timeoutMs,
    );
    await bitmaps.check();
    const created = await prepareDestination(plan, target.file, context, signal);
    const left = created ? `; the file it was to copy into is left at ${target.file}` : '';
    await addTargetNode(client, plan, target.file, created, context, timeoutMs, signal);
    let launched;
    try {
      launched = await launchJob(client, id, () => startJobCommand(client, id, 'blockdev-mirror', mirrorArguments(disk, plan, options), { timeoutMs, signal }));
    } catch (error) {
      const removed = await removeTargetNode(client, plan.nodeName, timeoutMs);
      const node =
        removed.fate === 'removed' || removed.fate === 'gone'
          ? ''
          : `; its node ${plan.nodeName} could not be removed (${removed.error ?? removed.fate}): blockdev-del it`;
      if (error instanceof QmpCommandError) throw new JobCommandError(`cannot start a copy of ${label} to ${target.file}${left}${node}`, context, error);
      throw error;
    }
    const job = new MirrorJob(startedJobInit(client, facts, launched, found.verbs, options), disk, {
      file: target.file,
      nodeName: plan.nodeName,
      created,
      shallow: plan.sync === 'top',
    });
    job.bitmaps = bitmaps;
    job.begin();
    job.cancelOn(options.cancelSignal);
    return job;
  }

  /**
   * Attaches to a mirror job that runs (by id); its destination node is read from the block graph
   * (x-debug-query-block-graph: the job's "target" child), so ending it still removes that node.
   */
  static async attach(client: QmpClient, target: { jobId: string }, options: AttachOptions = {}): Promise<MirrorJob> {
    const { init, error, timeoutMs } = await attachById(client, JOB_KINDS.copy, target.jobId, options);
    const destination = await readTarget(client, target.jobId, timeoutMs).catch(() => ({ file: undefined, nodeName: undefined }));
    const job = new MirrorJob(init, undefined, { ...destination, created: false, shallow: false });
    // Its pivot carries the source's bitmaps onto the destination, as the started job's does.
    job.bitmaps = JobBitmaps.ofRunningJob(client, target.jobId, job.disk, timeoutMs);
    job.begin(error);
    job.cancelOn(options.cancelSignal);
    return job;
  }

  /** Where the copy goes (and, once ended, what became of its node). */
  get destination(): Readonly<MirrorDestination> {
    return this.target;
  }

  /** After READY: switch the guest onto the destination (job-complete) and wait for the end. */
  async pivot(options: WaitOptions = {}): Promise<MirrorResult> {
    const refused = this.refusedHere('pivot', () => this.requireReady('pivot'));
    if (refused !== undefined) return refused;
    await this.bitmaps?.carry();
    return this.requestComplete('pivot', options);
  }

  /** pivot() without waiting: returns at QEMU's reply to the complete command. */
  async requestPivot(options: WaitOptions = {}): Promise<void> {
    const refused = this.refusedHere('pivot', () => this.requireReady('pivot'));
    if (refused !== undefined) return refused;
    await this.bitmaps?.carry();
    await this.sendComplete('pivot', options);
  }

  /** After READY: end the job with the guest on the source; the destination holds a full copy (virsh blockcopy --finish). */
  async finish(options: WaitOptions = {}): Promise<MirrorResult> {
    const refused = this.refusedHere('finish', () => this.requireReady('finish'));
    if (refused !== undefined) return refused;
    return this.requestPlainCancel('finish', options);
  }

  /**
   * Switches the running copy to write-blocking (block-job-change, QEMU 8.2+): from then on every
   * guest write reaches the destination before it completes, so the copy converges. Read from the
   * schema: an older QEMU gets JobUnsupportedError, nothing sent.
   */
  async setCopyMode(mode: CopyMode, options: WaitOptions = {}): Promise<void> {
    const schema = await qmpSchema(this.client, { timeoutMs: options.timeoutMs ?? this.commandTimeoutMs });
    if (!schema.commands.has('block-job-change')) {
      throw new JobUnsupportedError(
        `cannot switch copy job '${this.id}' on ${this.described} to ${mode}: this QEMU has no block-job-change (QEMU 8.2+); start the copy with that copy mode instead`,
        this.context(),
        'block-job-change',
      );
    }
    await this.send(`switch to ${mode}`, 'block-job-change', { id: this.id, type: 'mirror', 'copy-mode': mode }, options);
  }

  protected describeEnd(base: Omit<JobResult, 'outcome' | 'invalidated'> & { ended: 'completed' | 'aborted' | 'failed' }): MirrorResult {
    const { ended, ...rest } = base;
    // After READY a plain cancel ends the job in COMPLETED (measured on 7.2 and 10.0): ours, so "copied".
    const outcome =
      ended === 'completed' && this.request === 'complete'
        ? 'pivoted'
        : (ended === 'completed' || (ended === 'aborted' && this.machine.hasBeenReady)) && this.request === 'cancel'
          ? 'copied'
          : ended;
    const source = this.source;
    const files = source ? source.layers.map((l) => l.file) : [];
    // A copy writes only into the destination: nothing becomes invalid. After a pivot the guest has left the source.
    const left = outcome !== 'pivoted' ? [] : this.target.shallow ? files.slice(-1) : files;
    return {
      ...rest,
      outcome,
      invalidated: source
        ? {
            files: [],
            stillValid: [...files, ...((outcome === 'pivoted' || outcome === 'copied') && this.target.file ? [this.target.file] : [])],
            removedFromChain: left,
          }
        : undefined,
      destination: { ...this.target },
      ...(outcome === 'pivoted' ? this.bitmaps?.report() : {}),
    };
  }

  /** The node goes unless the guest pivoted onto it; removeTargetNode re-reads the chains, so a node in use stays. */
  protected override async release(result: MirrorResult): Promise<MirrorResult> {
    const nodeName = this.target.nodeName;
    if (nodeName === undefined) return result;
    if (result.outcome === 'pivoted') {
      this.target.node = 'in-use';
    } else {
      const removed = await removeTargetNode(this.client, nodeName, this.commandTimeoutMs);
      this.target.node = removed.fate;
      if (removed.error !== undefined) this.target.nodeError = removed.error;
    }
    return { ...result, destination: { ...this.target } };
  }

  /** After a pivot the guest left its source: the whole chain, or only its active layer for a shallow copy. */
  protected override nodesLeftBehind(result: MirrorResult): string[] {
    if (result.outcome !== 'pivoted' || !this.source) return [];
    const layers = this.target.shallow ? this.source.layers.slice(-1) : this.source.layers;
    return layers.map((l) => l.nodeName).reverse();
  }

  protected interruptionImages(): { onDisk: string; pivotTarget: string } {
    const file = this.target.file ?? 'the destination';
    const source = this.source ? (this.source.layers.at(-1)?.file ?? this.described) : this.described;
    return {
      pivotTarget: file,
      onDisk: `on disk: the source ${source} is still the disk and reads right; ${file} holds a copy that is not finished${this.target.nodeName ? ` (node ${this.target.nodeName} still in QEMU)` : ''} — do not use it, delete nothing`,
    };
  }

  private requireReady(verb: string): void {
    const { status, isReady } = this.machine;
    requireReady({ noun: this.kind, id: this.id, status, isReady, request: this.request, context: this.context() }, verb, 'finishing');
  }
}

/** The destination of mirror job `jobId`: its "target" child in the block graph, and that node's file. */
async function readTarget(client: QmpClient, jobId: string, timeoutMs: number): Promise<{ file: string | undefined; nodeName: string | undefined }> {
  const [graph, nodes] = await Promise.all([
    client.execute('x-debug-query-block-graph', undefined, { timeoutMs }),
    client.execute('query-named-block-nodes', { flat: true }, { timeoutMs }),
  ]);
  const job = graph.nodes.find((n) => n.type === 'block-job' && n.name === jobId);
  const edge = job && graph.edges.find((e) => e.parent === job.id && e.name === 'target');
  const nodeName = edge && graph.nodes.find((n) => n.id === edge.child)?.name;
  return { nodeName: nodeName || undefined, file: nodes.find((n) => n['node-name'] === nodeName)?.file };
}
