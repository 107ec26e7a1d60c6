/*
 * A job a client started on the model: it plays its recorded job's steps with the recorded spacing,
 * under the client's own id and arguments. It stops where the recording waited for a verb (READY for
 * complete/cancel, a paused job for resume, PENDING for finalize, CONCLUDED for dismiss) — and where
 * the client's auto-finalize/auto-dismiss make QEMU wait although the recording did not.
 */
import type { QmpMessage } from '../../src/framing.js';
import { isJsonObject as isObject } from '../../src/util/json.js';
import { setLongTimeout, type LongTimer } from '../../src/util/timers.js';
import type { JobStep, RecordedEntry, RecordedJob } from './jobs.js';
import { CopyProgress } from './progress.js';
import type { JobGroup } from './job-group.js';

export interface JobSink {
  /** Sends an event now. */
  event(message: QmpMessage): void;
  /** QEMU went away here in the recording. */
  close(): void;
  /** The job sent its COMPLETED/CANCELLED: the graph moves on (or not, see `followsRecording`). */
  ended(job: LiveJob): void;
  /** Milliseconds per recorded millisecond (0: --instant). */
  scale: number;
}

export interface JobArguments {
  speed: number;
  autoFinalize: boolean;
  autoDismiss: boolean;
}

/** With --instant, how long QEMU's recorded end waits for a client that sends fewer commands than the recording's. */
const INSTANT_EOF_MS = 1000;

/** Statuses a job reaches once its copy is done. */
const COPY_DONE = new Set(['ready', 'waiting', 'pending', 'concluded']);

type Synthetic = { event: string; data: Record<string, unknown> };

export class LiveJob {
  status = 'undefined';
  /** The verb the job waits for before its next step; undefined while it runs. */
  waitingFor: string | undefined;
  writes = 0;
  /** COMPLETED/CANCELLED was sent; `gone` once the job was dismissed (status null). */
  ended = false;
  gone = false;
  /** False once the client took another way than the recording (cancel instead of complete, …). */
  followsRecording = true;
  private next = 0;
  private released: string | undefined;
  private readySeen = false;
  private progress: { len: unknown; offset: unknown } = { len: 0, offset: 0 };
  private error: string | undefined;
  private timer: LongTimer | undefined;
  private pendingSent = false;
  /** Set while the client has the job paused: the status and wait to go back to on resume. */
  private clientPause: { status: string; waiting: string | undefined } | undefined;
  /** Commands still to come before QEMU's recorded end (the job outlived its QEMU). */
  private eofCommandsLeft: number | undefined;
  /** The step whose event says the copy is done (offset = len: READY, or COMPLETED), and the live copy. */
  private readonly doneStep: number;
  private readonly copy: CopyProgress | undefined;
  constructor(
    readonly id: string,
    readonly recorded: RecordedJob,
    readonly args: JobArguments,
    private readonly sink: JobSink,
    /** The jobs started by the same transaction, whose steps go out in QEMU's order. */
    private readonly group?: JobGroup,
  ) {
    const full = recorded.steps.findIndex(
      ({ event: { event, data } }) =>
        (event === 'BLOCK_JOB_READY' || event === 'BLOCK_JOB_COMPLETED') &&
        isObject(data) &&
        typeof data.len === 'number' &&
        data.len > 0 &&
        data.offset === data.len,
    );
    // The copy ended with the first step that left `running` for good (QEMU sends the status change first).
    const left = recorded.steps.findIndex(
      ({ event: { event, data } }) => event === 'JOB_STATUS_CHANGE' && isObject(data) && COPY_DONE.has(String(data.status)),
    );
    this.doneStep = full === -1 ? -1 : left === -1 ? full : Math.min(left, full);
    const len = full === -1 ? undefined : (recorded.steps[full]!.event.data as Record<string, number>).len;
    const recordedMs = recorded.steps.slice(0, this.doneStep + 1).reduce((sum, step) => sum + step.delayMs, 0);
    this.copy = len === undefined ? undefined : new CopyProgress(len, recordedMs, sink.scale, args.speed);
  }

  /** The client's speed (creation or set-speed): the copy goes on at it from now. */
  setSpeed(speed: number): void {
    this.args.speed = speed;
    this.copy?.setSpeed(speed);
  }

  /** Copying, not yet done: query-block-jobs shows the live offset. */
  private get copying(): boolean {
    return this.copy !== undefined && this.next <= this.doneStep && !this.ended;
  }

  /**
   * The live offset instead of the recorded entry: while copying, when the recording has no entry of
   * this status or ran at another speed than the client's (at the recorded speed, QEMU's own answer is
   * the truth: its copy goes in bursts, then the rate limit sleeps).
   */
  private liveCopy(recorded: Record<string, unknown> | undefined): boolean {
    const recordedSpeed = this.bestEntry(this.recorded.blockJobEntries)?.speed ?? this.recorded.command.args?.speed ?? 0;
    return this.copying && (recorded === undefined || recordedSpeed !== this.args.speed);
  }

  /**
   * Paused by the client or by an error with on-error stop (QEMU's user_paused): waiting for resume.
   * QEMU 10.0 also pauses jobs briefly while it drains for another command; those blips are not this.
   */
  get userPaused(): boolean {
    return this.waitingFor === 'resume';
  }

  get type(): string {
    return this.recorded.type;
  }

  /** The steps QEMU sent before its reply to the command that created the job or released it. */
  beforeReply(): void {
    for (
      let step = this.recorded.steps[this.next];
      step && (step.beforeReply || this.immediate) && this.verdict(step) === 'emit';
      step = this.recorded.steps[this.next]
    ) {
      this.next += 1;
      this.emitStep(step);
    }
    this.immediate = false;
  }

  /** Runs on through the recorded steps, each after its recorded delay, until a wait or the end. */
  continue(): void {
    this.stopTimer();
    while (this.waitingFor === undefined && !this.gone) {
      const step = this.recorded.steps[this.next];
      if (!step) {
        if (this.recorded.eofDelayMs !== undefined) {
          // QEMU went away after as many commands as the recording's client sent, or after the recorded
          // time; with --instant (no time) after those commands, or a second for a client that sends fewer.
          this.eofCommandsLeft = this.recorded.eofAfterCommands;
          if (this.eofCommandsLeft === 0) this.sink.close();
          else this.after(this.sink.scale > 0 ? this.recorded.eofDelayMs * this.sink.scale : INSTANT_EOF_MS, () => this.sink.close());
        }
        return;
      }
      const verdict = this.verdict(step);
      if (verdict === 'skip') {
        this.next += 1;
        continue;
      }
      if (verdict !== 'emit') {
        // The client asked to finalize itself, the recording did not: QEMU announces PENDING and waits.
        if (verdict.wait === 'finalize' && !step.after) this.synthesize([{ event: 'BLOCK_JOB_PENDING', data: { type: this.type, id: this.id } }]);
        this.waitingFor = verdict.wait;
        return;
      }
      // A client's own speed paces the copy: the step that finishes it comes when the bytes are copied.
      const paced = this.next === this.doneStep && this.args.speed > 0 && this.copy !== undefined;
      const delay = paced ? this.copy!.remainingMs() : step.delayMs * this.sink.scale;
      if (this.group && !step.beforeReply) {
        // One of a transaction's jobs: its group sends the steps of all in QEMU's order.
        this.group.schedule(this, step.event, delay, () => {
          this.next += 1;
          this.emitStep(step);
          this.continue();
        });
        return;
      }
      if (delay > 0 && !step.beforeReply) {
        this.after(delay, () => {
          this.next += 1;
          this.emitStep(step);
          this.continue();
        });
        return;
      }
      this.next += 1;
      this.emitStep(step);
    }
  }

  /** A verb the job's state accepts; the caller sends the reply between beforeReply() and continue(). */
  release(verb: string, force: boolean): void {
    if (verb === 'pause') {
      this.stopTimer();
      this.clientPause = { status: this.status, waiting: this.waitingFor };
      this.waitingFor = 'resume';
      this.synthesize([{ event: 'JOB_STATUS_CHANGE', data: { status: 'paused', id: this.id } }]);
      return;
    }
    if (verb === 'resume' && this.clientPause) {
      const { status, waiting } = this.clientPause;
      this.clientPause = undefined;
      this.synthesize([{ event: 'JOB_STATUS_CHANGE', data: { status, id: this.id } }]);
      this.waitingFor = waiting;
      return;
    }
    if (this.synthetic.length && verb === this.waitingFor) {
      this.waitingFor = undefined;
      this.synthesize(this.synthetic);
      this.synthetic = [];
      return;
    }
    // The verb may come before the job reached its wait (a client that acts on JOB_STATUS_CHANGE ready
    // before BLOCK_JOB_READY went out): it then releases the next step that waits for it.
    const wanted = this.waitingFor ?? this.recorded.steps.slice(this.next).find((s) => s.after)?.after;
    const readyVerbs = ['complete', 'cancel'];
    // A cancel before READY (or forced) aborts; the recording's cancel or complete at READY does not tell how.
    const recordedWay = wanted === 'cancel' ? !(force && this.status === 'ready') : wanted === 'complete' && this.status === 'ready' && !force;
    if (verb === 'cancel' && !recordedWay) {
      this.cancelled();
      return;
    }
    const releases = verb === wanted || (readyVerbs.includes(verb) && readyVerbs.includes(wanted ?? ''));
    if (!releases) return;
    if (verb !== wanted) this.followsRecording = false;
    this.released = wanted;
    this.waitingFor = undefined;
    // A finalize or dismiss wait the recording did not have: QEMU sends what follows before its reply.
    this.immediate = (wanted === 'finalize' || wanted === 'dismiss') && this.recorded.steps[this.next]?.after !== wanted;
  }

  /** A command of the client's came: QEMU's end may be due. */
  commandSeen(): void {
    if (this.eofCommandsLeft === undefined) return;
    this.eofCommandsLeft -= 1;
    if (this.eofCommandsLeft <= 0) {
      this.eofCommandsLeft = undefined;
      this.stopTimer();
      this.sink.close();
    }
  }

  stopTimer(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.group?.cancel(this);
  }

  /** The next step if it goes out before the reply that started or released the job (for a group's order). */
  nextBeforeReply(): JobStep | undefined {
    const step = this.recorded.steps[this.next];
    return step && (step.beforeReply || this.immediate) && this.verdict(step) === 'emit' ? step : undefined;
  }

  /** Sends the step nextBeforeReply() gave. */
  emitNext(): void {
    const step = this.recorded.steps[this.next]!;
    this.next += 1;
    this.emitStep(step);
  }

  /** What query-block-jobs shows for this job now. */
  blockJobEntry(): Record<string, unknown> {
    const recorded = this.bestEntry(this.recorded.blockJobEntries);
    const base = recorded ?? {
      'auto-finalize': this.args.autoFinalize,
      'io-status': 'ok',
      device: this.id,
      'auto-dismiss': this.args.autoDismiss,
      busy: this.status === 'running',
      len: this.progress.len,
      offset: this.progress.offset,
      status: this.status,
      paused: this.status === 'paused',
      speed: this.args.speed,
      ready: this.readySeen,
      type: this.type,
    };
    const live = this.liveCopy(recorded) ? { len: this.copy!.len, offset: this.copy!.offset(), busy: this.status === 'running' } : {};
    return {
      ...base,
      ...live,
      device: this.id,
      speed: this.args.speed,
      'auto-finalize': this.args.autoFinalize,
      'auto-dismiss': this.args.autoDismiss,
      status: this.status,
      paused: this.userPaused,
    };
  }

  /** What query-jobs shows for this job now. */
  jobEntry(): Record<string, unknown> {
    const recorded = this.bestEntry(this.recorded.jobEntries);
    const base = recorded ?? {
      id: this.id,
      type: this.type,
      status: this.status,
      'current-progress': this.progress.offset,
      'total-progress': this.progress.len,
      ...(this.error ? { error: this.error } : {}),
    };
    const live = this.liveCopy(recorded) ? { 'current-progress': this.copy!.offset(), 'total-progress': this.copy!.len } : {};
    return { ...base, ...live, id: this.id, status: this.status };
  }

  /** The recorded entry of this status after as many guest writes as the client made (the latest such). */
  private bestEntry(entries: readonly RecordedEntry[]): Record<string, unknown> | undefined {
    const same = entries.filter((e) => e.status === this.status);
    const fitting = same.filter((e) => e.writes <= this.writes);
    return (fitting[fitting.length - 1] ?? same[0])?.entry;
  }

  /** Whether a step goes out now, is left out for this client, or waits for a verb first. */
  private verdict(step: JobStep): 'emit' | 'skip' | { wait: string } {
    const status = step.event.event === 'JOB_STATUS_CHANGE' && isObject(step.event.data) ? step.event.data.status : undefined;
    if (step.event.event === 'BLOCK_JOB_PENDING') {
      if (this.args.autoFinalize) return 'skip';
      // QEMU 11.1 sends it only once job-finalize came (recorded): then it waits for that, as recorded.
      return !step.after || this.released === step.after ? 'emit' : { wait: step.after };
    }
    if (step.after && this.released === step.after) return 'emit';
    if (step.after === 'finalize' && this.args.autoFinalize) return 'emit';
    if (step.after === 'dismiss' && this.args.autoDismiss) return 'emit';
    // A throttled recording waited for its client's set-speed; here the client's own speed paces the copy.
    if (step.after === 'set-speed') return 'emit';
    if (step.after) return { wait: step.after };
    if (this.status === 'pending' && !this.args.autoFinalize && !this.pendingSent && this.released !== 'finalize') return { wait: 'finalize' };
    if (status === 'null' && !this.args.autoDismiss && this.released !== 'dismiss') return { wait: 'dismiss' };
    return 'emit';
  }

  private emitStep(step: JobStep): void {
    if (step.after) this.released = undefined;
    if (this.recorded.steps.indexOf(step) === this.doneStep) this.copy?.finish();
    this.emit(step.event);
  }

  /** Sends a recorded event under the client's job name and speed, and tracks the job's state by it. */
  private emit(recorded: QmpMessage): void {
    const data = isObject(recorded.data) ? { ...recorded.data } : {};
    if ('id' in data) data.id = this.id;
    if ('device' in data) data.device = this.id;
    if ('speed' in data) data.speed = this.args.speed;
    if ('len' in data) this.progress = { len: data.len, offset: data.offset };
    if (typeof data.error === 'string') this.error = data.error;
    if (recorded.event === 'BLOCK_JOB_PENDING') this.pendingSent = true;
    const message = { ...recorded, data };
    if (recorded.event === 'JOB_STATUS_CHANGE') {
      this.status = String(data.status);
      this.copy?.setRunning(this.status === 'running');
      if (this.status === 'ready') this.readySeen = true;
      if (this.status === 'null') this.gone = true;
    }
    this.sink.event(message);
    if (recorded.event === 'BLOCK_JOB_COMPLETED' || recorded.event === 'BLOCK_JOB_CANCELLED') {
      this.ended = true;
      this.sink.ended(this);
    }
  }

  /** QEMU's cancel of a job that has not reached READY (or a forced one): it aborts, no pivot. */
  private cancelled(): void {
    this.stopTimer();
    const copied = this.copying ? { len: this.copy!.len, offset: this.copy!.offset() } : undefined;
    this.followsRecording = false;
    this.next = this.recorded.steps.length;
    this.waitingFor = undefined;
    const recorded = this.bestEntry(this.recorded.blockJobEntries);
    const { len, offset } =
      copied ?? (this.progress.len === 0 && recorded && 'len' in recorded ? { len: recorded.len, offset: recorded.offset } : this.progress);
    const events: Synthetic[] = [
      { event: 'JOB_STATUS_CHANGE', data: { status: 'aborting', id: this.id } },
      { event: 'BLOCK_JOB_CANCELLED', data: { device: this.id, len, offset, speed: this.args.speed, type: this.type } },
      { event: 'JOB_STATUS_CHANGE', data: { status: 'concluded', id: this.id } },
    ];
    this.synthesize(events);
    const gone: Synthetic = { event: 'JOB_STATUS_CHANGE', data: { status: 'null', id: this.id } };
    if (this.args.autoDismiss) this.synthesize([gone]);
    else {
      this.synthetic = [gone];
      this.waitingFor = 'dismiss';
    }
  }

  /** Events the model made up (no recording had them) that wait for a verb. */
  private synthetic: Synthetic[] = [];
  /** The next steps go out before the reply to the verb that released them. */
  private immediate = false;

  private synthesize(events: Synthetic[]): void {
    for (const { event, data } of events) this.emit({ event, data });
  }

  private after(ms: number, run: () => void): void {
    // A recorded spacing of 0 (or --instant) still goes through a timer: the next turn, cancellable.
    this.timer = setLongTimeout(
      () => {
        this.timer = undefined;
        run();
      },
      Math.max(ms, 0.001),
    );
  }
}
