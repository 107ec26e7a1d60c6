/*
 * One client's connection to the model (`model: true`): its commands are answered from what the
 * transcript's QEMU had and did, in the client's own terms — its job ids and arguments, QEMU's own
 * refusals for what QEMU would refuse, the graph as it stands at this point of the replay.
 */
import { twinOf } from '../verb-twins.js';
import type { QmpMessage } from '../../src/framing.js';
import type { QmpError } from '../../src/errors.js';
import { isJsonObject as isObject } from '../../src/util/json.js';
import { createsJob, jobNameOf, transactionJobs } from '../job-names.js';
import type { OutputQueue } from '../output.js';
import { canonical, ReplayDeviationError, stripId, type Exchange } from '../script.js';
import { GRAPH_CHANGING, GRAPH_QUERIES, jobWhat, type GraphView } from './graph.js';
import { isGuestWrite, jobArgOf, verbOf, WAITING_VERBS, type RecordedJob } from './jobs.js';
import { LiveJob } from './live-job.js';
import { JobGroup, recordedMicros } from './job-group.js';
import { blockstats, guestWrite } from './blockstats.js';
import type { ModelWorld } from './world.js';
import { addedNode, snapshotActions, type RecordedSnapshot, type SnapshotAction } from './snapshots.js';
import type { TranscriptModel } from './model.js';
import {
  alreadyPaused,
  jobIdInUse,
  needRootNode,
  nodeBusy,
  notPaused,
  unknownBitmap,
  unknownDevice,
  unknownJob,
  verbRefusal,
  type QmpErrorBody,
} from './refusals.js';

export interface ModelSessionOptions {
  strict: boolean;
  onError?: (error: QmpError) => void;
}

type Reply = (body: QmpMessage) => QmpMessage;

/** Job commands whose device must be a root node (QEMU's qmp_get_root_bs). */
const ROOT_ONLY = new Set(['block-commit', 'drive-mirror', 'blockdev-mirror']);

/** Job commands that take a bitmap and a target node as blockdev-backup does. */
const BACKUP = new Set(['blockdev-backup']);

export class ModelSession {
  negotiated = false;
  private readonly model: TranscriptModel;
  private readonly detach: () => void;
  private closed = false;

  constructor(
    private readonly world: ModelWorld,
    private readonly out: OutputQueue,
    private readonly options: ModelSessionOptions,
  ) {
    this.model = world.model;
    this.detach = world.attach({ out, negotiated: () => this.negotiated });
  }

  /** The client went away; its jobs go on, as in QEMU. */
  stop(): void {
    this.closed = true;
    this.detach();
  }

  command(name: string, args: Record<string, unknown> | undefined, reply: Reply, message: QmpMessage): void {
    const armed = [...this.live()];
    // The client's own node names and overlay files stand for the recorded ones (snapshots.ts).
    const names = this.world.names;
    this.answerCommand(name, names.inward(args), (body) => reply(names.outward(body)), message);
    for (const job of armed) job.commandSeen();
    this.world.commandSeen();
  }

  private answerCommand(name: string, args: Record<string, unknown> | undefined, reply: Reply, message: QmpMessage): void {
    const answer = (body: QmpMessage): void => this.out.replyNow(performance.now(), reply(body), name);
    const refuse = (error: QmpErrorBody): void => answer({ error });
    if (name === 'qmp_capabilities') {
      if (this.negotiated) return refuse({ class: 'CommandNotFound', desc: 'Capabilities negotiation is already complete, command ignored' });
      this.negotiated = true;
      return answer({ return: {} });
    }
    if (!this.negotiated) return refuse({ class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" });
    const intro = this.model.introspection;
    if (this.model.rejectsDeprecatedInput && (intro.deprecated.has(name) || this.hiddenTwin(name))) {
      // QEMU's own words under -compat deprecated-input=reject (measured on 11.1).
      return refuse({ class: 'CommandNotFound', desc: `Deprecated command ${name} disabled by policy` });
    }
    if (name === 'query-commands') return answer({ return: intro.commands });
    if (name === 'query-qmp-schema' && intro.schema !== undefined) return answer({ return: intro.schema });
    if (name === 'query-block-jobs') return answer({ return: this.live().map((j) => j.blockJobEntry()) });
    if (name === 'query-jobs') return answer({ return: this.live().map((j) => j.jobEntry()) });
    if (name === 'query-blockstats') {
      // Every QEMU answers it: from the devices of the graph as it stands, whatever was recorded.
      const blocks = this.model.graph.reply(this.world.epoch, 'query-block', undefined);
      if (blocks) return answer({ return: blockstats(blocks.return, this.world.written) as unknown as QmpMessage });
    }
    if (GRAPH_QUERIES.has(name)) {
      const recorded = this.model.graph.reply(this.world.epoch, name, args);
      if (recorded) return answer(stripId(recorded));
    }
    if (name === 'blockdev-add') {
      // A client's own node (an overlay it will snapshot onto): remembered with its file. Where the
      // recording added none, QEMU's answer to a good blockdev-add is taken, as the model cannot open files.
      const node = addedNode(args, this.world.added);
      if (node) this.world.added.set(node.node, node.file);
      if (node && !this.model.byName.has('blockdev-add') && this.model.graph.view(this.world.epoch).lookup(node.node) === undefined)
        return answer({ return: {} });
    }
    if (transactionJobs(name, args).length) return this.transactionJobs(args, answer, refuse, message);
    const snapshots = snapshotActions(name, args, this.world.added);
    if (snapshots && this.snapshot(snapshots, answer)) return;
    if (createsJob(name, args)) return this.createJob(name, args, answer, refuse, message);
    const verb = verbOf(name);
    if (verb) return this.jobVerb(name, verb, args, answer, refuse);
    this.generic(name, args, answer, message);
  }

  /**
   * block-job-X missing from a recorded schema that has job-X: deprecated-output=hide leaves
   * deprecated commands out of query-qmp-schema (11.1), so the schema alone no longer says it.
   */
  private hiddenTwin(name: string): boolean {
    const twin = twinOf(name);
    const inSchema = this.model.introspection.schemaCommands;
    return inSchema !== undefined && twin !== undefined && name.startsWith('block-job-') && !inSchema.has(name) && inSchema.has(twin);
  }

  private live(): LiveJob[] {
    return this.world.live();
  }

  // ---------------------------------------------------------------- jobs

  private createJob(
    name: string,
    args: Record<string, unknown> | undefined,
    answer: (b: QmpMessage) => void,
    refuse: (e: QmpErrorBody) => void,
    message: QmpMessage,
  ): void {
    const view = this.model.graph.view(this.world.epoch);
    const refusal = this.jobRefusal(name, args, view);
    if (refusal) return refuse(refusal);
    const recorded = this.recordedJob(name, args, view);
    if (recorded && 'error' in recorded) return refuse(recorded.error);
    if (!recorded) return this.cannotAnswer(name, message, answer, `has no ${name} job like this one to replay`);
    if (!recorded.exact && this.options.strict)
      return this.cannotAnswer(name, message, answer, `has no ${name} job like this one to replay`, recorded.job.command.command);
    const job = this.startLive(args, recorded.job);
    job.beforeReply();
    answer(stripId(recorded.job.command.reply!.msg));
    job.continue();
  }

  /**
   * A transaction with job actions (blockdev-backup …): each is checked and matched as its own
   * command, the first refusal refuses them all (QEMU's transaction), and the jobs go as one group.
   */
  private transactionJobs(
    args: Record<string, unknown> | undefined,
    answer: (b: QmpMessage) => void,
    refuse: (e: QmpErrorBody) => void,
    message: QmpMessage,
  ): void {
    const actions = Array.isArray(args?.actions) ? args.actions.filter(isObject) : [];
    // Bitmaps the transaction adds are there for its backups (an incremental's temporary bitmap).
    for (const a of actions) if (typeof a.type === 'string' && isObject(a.data)) this.trackBitmap(a.type, a.data);
    const view = this.model.graph.view(this.world.epoch);
    const jobs = transactionJobs('transaction', args);
    for (const j of jobs) {
      const refusal = this.jobRefusal(j.name, j.args, view);
      if (refusal) return refuse(refusal);
    }
    const picked: RecordedJob[] = [];
    for (const j of jobs) {
      const recorded = this.recordedJob(j.name, j.args, view);
      if (recorded && 'error' in recorded) return refuse(recorded.error);
      if (!recorded || (!recorded.exact && this.options.strict))
        return this.cannotAnswer('transaction', message, answer, 'has no transaction like this one to replay');
      this.world.used.add(recorded.job);
      picked.push(recorded.job);
    }
    const group = new JobGroup();
    const live = jobs.map((j, i) => this.startLive(j.args, picked[i]!, group));
    // What QEMU sent before its reply, in its order across the jobs.
    for (;;) {
      const next = live.flatMap((job) => {
        const step = job.nextBeforeReply();
        return step ? [{ job, at: recordedMicros(step.event) }] : [];
      });
      if (!next.length) break;
      next.reduce((a, b) => (b.at < a.at ? b : a)).job.emitNext();
    }
    answer(stripId(picked[0]!.command.reply!.msg));
    for (const job of live) job.continue();
    group.release();
  }

  /** QEMU's refusal of this job command where the graph stands, if it would refuse it. */
  private jobRefusal(name: string, args: Record<string, unknown> | undefined, view: GraphView): QmpErrorBody | undefined {
    const device = typeof args?.device === 'string' ? args.device : undefined;
    const id = jobNameOf(args);
    if (device !== undefined && view.known) {
      const node = view.lookup(device);
      if (node === undefined) return this.recordedRefusal(name, args, 'DeviceNotFound') ?? unknownDevice(name, device);
      // A drive named as before the job: its root may be the job's filter by now (a backup's copy-before-write).
      const busy = this.live().find((j) => !j.ended && this.holds(j, node, device));
      if (!busy && ROOT_ONLY.has(name) && !view.isRoot(node)) return this.recordedRefusal(name, args) ?? needRootNode;
      const backup = BACKUP.has(name) ? this.backupRefusal(args, node, view) : undefined;
      if (backup?.before) return this.recordedRefusal(name, args) ?? backup.before;
      if (busy)
        return this.recordedRefusal(name, args) ?? (this.hasFilterOnTop(busy) ? needRootNode : nodeBusy(view.deviceOrNodeName(node, device), busy.type));
      if (backup?.after) return this.recordedRefusal(name, args) ?? backup.after;
    }
    if (device !== undefined && !view.known) {
      // No graph recorded: the same device name is the only busy disk the model can tell.
      const busy = this.live().find((j) => !j.ended && j.recorded.command.args?.device === device);
      if (busy) return this.recordedRefusal(name, args) ?? (this.hasFilterOnTop(busy) ? needRootNode : nodeBusy(device, busy.type));
    }
    if (id !== undefined && this.live().some((j) => j.id === id)) return jobIdInUse(id);
    return undefined;
  }

  /** The recorded job a command replays, or the refusal the recording has for one like it. */
  private recordedJob(
    name: string,
    args: Record<string, unknown> | undefined,
    view: GraphView,
  ): { job: RecordedJob; exact: boolean } | { error: QmpErrorBody } | undefined {
    const what = jobWhat(name, args, view);
    const refused = this.model.script.exchanges.find(
      (x) => x.name === name && x.reply && isObject(x.reply.msg.error) && jobWhat(x.name, x.args, this.model.graph.view(this.epochOf(x))) === what,
    );
    const recorded = this.pick(name, what, refused === undefined);
    if (!recorded && refused) return { error: refused.reply!.msg.error as unknown as QmpErrorBody };
    return recorded;
  }

  /** The client's job on the model, playing `recorded` under the client's id and arguments. */
  private startLive(args: Record<string, unknown> | undefined, recorded: RecordedJob, group?: JobGroup): LiveJob {
    const job = new LiveJob(
      jobNameOf(args) ?? recorded.id,
      recorded,
      {
        speed: typeof args?.speed === 'number' ? args.speed : 0,
        autoFinalize: args?.['auto-finalize'] !== false,
        autoDismiss: args?.['auto-dismiss'] !== false,
      },
      this.world.sink(),
      group,
    );
    this.world.used.add(recorded);
    this.world.jobs.push(job);
    this.world.epoch = recorded.epochDuring;
    return job;
  }

  /** The recorded job this command replays: one that does the same (unused first), else in lenient mode any of the command. */
  private pick(name: string, what: string, lenient: boolean): { job: RecordedJob; exact: boolean } | undefined {
    const same = this.model.jobs.filter((j) => j.command.name === name && j.what === what);
    const exact = same.find((j) => !this.world.used.has(j)) ?? same[0];
    if (exact) return { job: exact, exact: true };
    if (!lenient) return undefined;
    const byName = this.model.jobs.filter((j) => j.command.name === name);
    const any = byName.find((j) => !this.world.used.has(j)) ?? byName[0];
    return any ? { job: any, exact: false } : undefined;
  }

  private nodeOf(job: LiveJob): string | undefined {
    const device = job.recorded.command.args?.device;
    return typeof device === 'string' ? this.model.graph.view(job.recorded.epoch).lookup(device) : undefined;
  }

  /** The job holds the node the client named `named` (now, or as the graph stood when the job started). */
  private holds(job: LiveJob, node: string, named: string): boolean {
    const held = this.nodeOf(job);
    return held !== undefined && (held === node || held === this.model.graph.view(job.recorded.epoch).lookup(named));
  }

  /**
   * What QEMU's blockdev-backup refuses besides a busy disk (do_backup_common, backup_job_create): a
   * bitmap the node does not have (checked first), a target another job writes (checked after the disk).
   */
  private backupRefusal(args: Record<string, unknown> | undefined, node: string, view: GraphView): { before?: QmpErrorBody; after?: QmpErrorBody } {
    const bitmap = args?.bitmap;
    if (typeof bitmap === 'string' && !view.bitmapsOf(node).includes(bitmap) && !this.world.bitmaps.has(`${node}\0${bitmap}`))
      return { before: unknownBitmap(bitmap) };
    const target = typeof args?.target === 'string' ? args.target : undefined;
    const targetNode = target === undefined ? undefined : view.lookup(target);
    if (target === undefined || targetNode === undefined) return {};
    const writer = this.live().find((j) => {
      const recorded = j.recorded.command.args?.target;
      return !j.ended && typeof recorded === 'string' && this.model.graph.view(j.recorded.epoch).lookup(recorded) === targetNode;
    });
    return writer ? { after: nodeBusy(view.deviceOrNodeName(targetNode, target), writer.type) } : {};
  }

  /** An active commit or a mirror puts its filter over the device's root: the root is then that filter. */
  private hasFilterOnTop(job: LiveJob): boolean {
    if (job.type === 'mirror') return true;
    const { name, args } = job.recorded.command;
    const view = this.model.graph.view(job.recorded.epoch);
    const device = this.nodeOf(job);
    const top = args?.['top-node'] ?? args?.top;
    return name === 'block-commit' && (typeof top !== 'string' || view.resolve(top) === device);
  }

  private epochOf(exchange: Exchange): number {
    return this.model.epochs.at(exchange.t);
  }

  /** The transcript's own refusal of this command with these arguments (job names aside), if it has one. */
  private recordedRefusal(name: string, args: Record<string, unknown> | undefined, errorClass?: string): QmpErrorBody | undefined {
    const key = canonical({ ...args, 'job-id': undefined });
    const found = this.model.byName
      .get(name)
      ?.find(
        (x) =>
          isObject(x.reply?.msg.error) &&
          canonical({ ...x.args, 'job-id': undefined }) === key &&
          (!errorClass || (x.reply!.msg.error as unknown as QmpErrorBody).class === errorClass),
      );
    return found ? (found.reply!.msg.error as unknown as QmpErrorBody) : undefined;
  }

  private jobVerb(
    name: string,
    verb: string,
    args: Record<string, unknown> | undefined,
    answer: (b: QmpMessage) => void,
    refuse: (e: QmpErrorBody) => void,
  ): void {
    const id = jobArgOf(name, args);
    const key = name.startsWith('block-job-') ? 'device' : 'id';
    if (id === undefined) return refuse({ class: 'GenericError', desc: `Parameter '${key}' is missing` });
    const job = this.live().find((j) => j.id === id);
    if (!job) return refuse(unknownJob(name, id));
    if (verb === 'resume' && !job.userPaused) return refuse(notPaused);
    const refusal = verbRefusal(job.id, job.status, verb);
    if (refusal) return refuse(refusal);
    if (verb === 'pause' && job.userPaused) return refuse(alreadyPaused);
    if (verb === 'set-speed') {
      if (typeof args?.speed !== 'number') return refuse({ class: 'GenericError', desc: "Parameter 'speed' is missing" });
      job.setSpeed(args.speed);
    }
    if (!WAITING_VERBS.has(verb)) return answer({ return: {} });
    job.release(verb, args?.force === true);
    job.beforeReply();
    answer({ return: {} });
    job.continue();
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * A client's snapshots, each matched to one the recording took of the same disk where the graph
   * stands: the graph moves on as recorded, under the client's node names and files. False when the
   * recording has none like it (then answered as any other command).
   */
  private snapshot(actions: SnapshotAction[], answer: (b: QmpMessage) => void): boolean {
    let epoch = this.world.epoch;
    const matched: Array<{ action: SnapshotAction; recorded: RecordedSnapshot }> = [];
    for (const action of actions) {
      const node = this.model.graph.view(epoch).lookup(action.target);
      const taken = (r: RecordedSnapshot): boolean => this.world.usedSnapshots.has(r) || matched.some((m) => m.recorded === r);
      const recorded = this.model.snapshots.find((r) => !taken(r) && r.epoch === epoch && node !== undefined && r.node === node);
      if (!recorded) return false;
      matched.push({ action, recorded });
      epoch = recorded.epochAfter;
    }
    for (const { action, recorded } of matched) {
      this.world.usedSnapshots.add(recorded);
      this.world.names.add(recorded.file, action.file);
      if (recorded.overlay !== undefined && action.nodeName !== undefined) this.world.names.add(recorded.overlay, action.nodeName);
    }
    this.world.epoch = epoch;
    answer({ return: {} });
    return true;
  }

  // ---------------------------------------------------------------- everything else

  private generic(name: string, args: Record<string, unknown> | undefined, answer: (b: QmpMessage) => void, message: QmpMessage): void {
    if (isGuestWrite(name, args)) for (const job of this.live()) job.writes += 1;
    this.trackBitmap(name, args);
    const write = guestWrite(args);
    if (name === 'human-monitor-command' && write) this.world.written.set(write.device, (this.world.written.get(write.device) ?? 0) + write.bytes);
    // Replies QEMU gave after negotiation (a refusal before it is no answer to a negotiated client).
    const recorded = (this.model.byName.get(name) ?? []).filter((x) => x.negotiated);
    const key = canonical(args ?? {});
    const exact = recorded.find((x) => canonical(x.args ?? {}) === key);
    const chosen = exact ?? (this.options.strict ? undefined : recorded[0]);
    if (chosen?.reply) {
      if (GRAPH_CHANGING.has(name) && exact && 'return' in chosen.reply.msg) this.world.epoch = this.model.epochs.at(chosen.reply.t);
      return answer(stripId(chosen.reply.msg));
    }
    if (!this.model.introspection.has(name) && !recorded.length) {
      return answer({ error: { class: 'CommandNotFound', desc: `The command ${name} has not been found` } });
    }
    this.cannotAnswer(name, message, answer, `has no reply to ${name} with these arguments`, recorded[0]?.command);
  }

  /** A client's own bitmaps, which the recorded graph may not show: a backup of them is not refused. */
  private trackBitmap(name: string, args: Record<string, unknown> | undefined): void {
    if (name !== 'block-dirty-bitmap-add' && name !== 'block-dirty-bitmap-remove') return;
    const node = typeof args?.node === 'string' ? this.model.graph.view(this.world.epoch).lookup(args.node) : undefined;
    if (node === undefined || typeof args?.name !== 'string') return;
    if (name === 'block-dirty-bitmap-add') this.world.bitmaps.add(`${node}\0${args.name}`);
    else this.world.bitmaps.delete(`${node}\0${args.name}`);
  }

  /** What the transcript cannot answer: strict mode names the line and ends the connection. */
  private cannotAnswer(name: string, message: QmpMessage, answer: (b: QmpMessage) => void, what: string, nearest?: QmpMessage): void {
    if (this.options.strict) {
      // The line named: the recorded command nearest to what came (same command), else the transcript's last.
      const exchanges = this.model.script.exchanges;
      const at = exchanges.find((x) => x.command === nearest) ?? exchanges.find((x) => x.name === name) ?? exchanges[exchanges.length - 1];
      const error = new ReplayDeviationError(this.model.source, at?.line, at?.command, message);
      this.options.onError?.(error);
      answer({ error: { class: 'GenericError', desc: error.message } });
      this.close();
      return;
    }
    answer({ error: { class: 'GenericError', desc: `mock-qmp model: ${this.model.source} ${what}` } });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.enqueue(performance.now(), { kind: 'close' });
    this.out.done = true;
  }
}
