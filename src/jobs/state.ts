/*
 * The life of ONE QEMU job, rebuilt from its own events (JOB_STATUS_CHANGE, BLOCK_JOB_*), never from
 * progress numbers: QEMU can show offset == len while a job is still running, so only the job's own
 * READY event / "ready" status says it is ready.
 */
import { EventEmitter } from 'eventemitter3';
import { eventJobId, timestampMs, type JobStatus, type QmpEvent } from '../qapi/types.js';

/**
 * QEMU's job state transition table (job.c JobSTT, unchanged from 3.0 through 7.2): for each status,
 * the statuses it may move to. "undefined" is the state before "created".
 */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  undefined: ['created'],
  created: ['running', 'aborting', 'null'],
  running: ['paused', 'ready', 'waiting', 'aborting'],
  paused: ['running'],
  ready: ['standby', 'waiting', 'aborting'],
  standby: ['ready'],
  waiting: ['pending', 'aborting'],
  pending: ['aborting', 'concluded'],
  aborting: ['aborting', 'concluded'],
  concluded: ['null'],
  null: [],
};

const STATUSES = new Set<string>(Object.keys(JOB_TRANSITIONS));

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && STATUSES.has(value);
}

export function isValidTransition(from: JobStatus, to: JobStatus): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

/** One status the job entered, with QEMU's own timestamp (`at`: milliseconds since the epoch, as Date.now()). */
export interface JobStateChange {
  status: JobStatus;
  at: number;
  /**
   * On a "paused" or "standby" entry: the job stopped itself on an I/O error (a BLOCK_JOB_ERROR with
   * action "stop" came with it). Without it the pause was a block-job-pause or a drain: QEMU 10 pauses
   * every running job for each block-graph change anywhere (a snapshot of another disk, a failed
   * block-commit), so "paused" alone is no proof of an error (docs/compat.md).
   */
  errorStop?: true;
}

/**
 * The statuses of `history` without its blips: each paused→running (standby→ready) pair whose pause
 * was not an error stop is left out. What a job went through, comparable across QEMU versions.
 */
export function withoutBlips(history: readonly JobStateChange[]): JobStatus[] {
  const out: JobStatus[] = [];
  for (let i = 0; i < history.length; i++) {
    const change = history[i] as JobStateChange;
    const next = history[i + 1]?.status;
    if (!change.errorStop && ((change.status === 'paused' && next === 'running') || (change.status === 'standby' && next === 'ready'))) {
      i++;
      continue;
    }
    out.push(change.status);
  }
  return out;
}

/** A transition QEMU's table does not allow: kept and reported, never silently accepted. */
export interface TransitionAnomaly {
  from: JobStatus;
  to: JobStatus;
  at: number;
}

/** A BLOCK_JOB_ERROR of this job: what failed and what QEMU did about it (its on-error policy). */
export interface JobIoError {
  operation: 'read' | 'write';
  action: 'ignore' | 'report' | 'stop';
  at: number;
}

/** How the job ended, as its final BLOCK_JOB_COMPLETED / BLOCK_JOB_CANCELLED said. */
export interface JobEnding {
  event: 'BLOCK_JOB_COMPLETED' | 'BLOCK_JOB_CANCELLED';
  /** QEMU's error text (BLOCK_JOB_COMPLETED.error), e.g. "Input/output error". */
  error?: string;
  offset: number;
  len: number;
  at: number;
}

export interface JobStateEvents {
  state: [change: JobStateChange, previous: JobStatus];
  ready: [at: number];
  error: [error: JobIoError];
  /** The job stopped itself on an I/O error (on-error "stop"): BLOCK_JOB_ERROR and its pause, in either order. */
  stopped: [error: JobIoError];
  concluded: [ending: JobEnding | undefined];
  anomaly: [anomaly: TransitionAnomaly];
}

const JOB_EVENTS = ['JOB_STATUS_CHANGE', 'BLOCK_JOB_READY', 'BLOCK_JOB_ERROR', 'BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED', 'BLOCK_JOB_PENDING'] as const;

/** The QMP events that describe a job's life. */
export const JOB_EVENT_NAMES: readonly string[] = JOB_EVENTS;

export class JobStateMachine extends EventEmitter<JobStateEvents> {
  private current: JobStatus;
  private readonly changes: JobStateChange[] = [];
  private readonly anomalyList: TransitionAnomaly[] = [];
  private readonly ioErrorList: JobIoError[] = [];
  private readyAt: number | undefined;
  private endingValue: JobEnding | undefined;
  /** A BLOCK_JOB_ERROR "stop" whose pause has not come yet. */
  private stopPending: JobIoError | undefined;
  private blipCount = 0;

  /**
   * @param initial "undefined" for a job we are about to create; the status query-jobs reports when
   *   attaching to a job that already runs (its earlier history is then unknown).
   */
  constructor(
    readonly jobId: string,
    initial: JobStatus = 'undefined',
    initialAt = Number.NaN,
  ) {
    super();
    this.current = initial;
    if (initial !== 'undefined') this.changes.push({ status: initial, at: initialAt });
    if (initial === 'ready' || initial === 'standby') this.readyAt = initialAt;
  }

  get status(): JobStatus {
    return this.current;
  }

  /** Every status entered, in order (starting with the attach-time status for a reattached job). */
  get history(): readonly JobStateChange[] {
    return this.changes;
  }

  get statuses(): JobStatus[] {
    return this.changes.map((c) => c.status);
  }

  get anomalies(): readonly TransitionAnomaly[] {
    return this.anomalyList;
  }

  get ioErrors(): readonly JobIoError[] {
    return this.ioErrorList;
  }

  /** True once this job said it is ready (READY event or "ready" status); never guessed from progress. */
  get hasBeenReady(): boolean {
    return this.readyAt !== undefined;
  }

  get readySince(): number | undefined {
    return this.readyAt;
  }

  /** Is the job in the synchronized phase right now (ready, or standby = ready but paused)? */
  get isReady(): boolean {
    return this.current === 'ready' || this.current === 'standby';
  }

  /**
   * Is the job stopped by an I/O error right now (paused/standby entered with a BLOCK_JOB_ERROR "stop")?
   * Never inferred from "paused" alone (see JobStateChange.errorStop).
   */
  get stoppedOnError(): boolean {
    return (this.current === 'paused' || this.current === 'standby') && this.changes[this.changes.length - 1]?.errorStop === true;
  }

  /** How many times the job was paused and resumed without an error stop (drains, block-job-pause). */
  get blips(): number {
    return this.blipCount;
  }

  /** The statuses without blips (withoutBlips). */
  get steadyStatuses(): JobStatus[] {
    return withoutBlips(this.changes);
  }

  get ending(): JobEnding | undefined {
    return this.endingValue;
  }

  get isGone(): boolean {
    return this.current === 'null';
  }

  /** Feeds one event; events of other jobs are ignored. */
  apply(event: QmpEvent): void {
    if (eventJobId(event) !== this.jobId) return;
    const at = timestampMs(event.timestamp);
    const data = event.data;
    switch (event.event) {
      case 'JOB_STATUS_CHANGE': {
        if (!isJobStatus(data.status)) return;
        this.enter(data.status, at);
        return;
      }
      case 'BLOCK_JOB_READY':
        if (this.readyAt === undefined) {
          this.readyAt = at;
          this.emit('ready', at);
        }
        return;
      case 'BLOCK_JOB_ERROR': {
        const operation = data.operation === 'write' ? 'write' : 'read';
        const action = data.action === 'stop' || data.action === 'ignore' ? data.action : 'report';
        const error: JobIoError = { operation, action, at };
        this.ioErrorList.push(error);
        this.emit('error', error);
        if (action === 'stop') {
          const last = this.changes[this.changes.length - 1];
          // The pause may already be in (the status change overtook the error event): mark it.
          if (last && this.current === last.status && (last.status === 'paused' || last.status === 'standby') && !last.errorStop) {
            last.errorStop = true;
            this.emit('stopped', error);
          } else {
            this.stopPending = error;
          }
        }
        return;
      }
      case 'BLOCK_JOB_COMPLETED':
      case 'BLOCK_JOB_CANCELLED': {
        this.endingValue = {
          event: event.event,
          ...(typeof data.error === 'string' ? { error: data.error } : {}),
          offset: typeof data.offset === 'number' ? data.offset : 0,
          len: typeof data.len === 'number' ? data.len : 0,
          at,
        };
        return;
      }
      default:
        return;
    }
  }

  private enter(next: JobStatus, at: number): void {
    const previous = this.current;
    if (!isValidTransition(previous, next)) {
      const anomaly = { from: previous, to: next, at };
      this.anomalyList.push(anomaly);
      this.emit('anomaly', anomaly);
    }
    this.current = next;
    const change: JobStateChange = { status: next, at };
    const stop = next === 'paused' || next === 'standby' ? this.stopPending : undefined;
    if (stop) {
      change.errorStop = true;
      this.stopPending = undefined;
    }
    const left = this.changes[this.changes.length - 1];
    if (left && !left.errorStop && ((previous === 'paused' && next === 'running') || (previous === 'standby' && next === 'ready'))) this.blipCount++;
    this.changes.push(change);
    // READY's status change comes just before BLOCK_JOB_READY; either one counts.
    if (next === 'ready' && this.readyAt === undefined) {
      this.readyAt = at;
      this.emit('state', change, previous);
      this.emit('ready', at);
      return;
    }
    this.emit('state', change, previous);
    if (stop) this.emit('stopped', stop);
    if (next === 'concluded') this.emit('concluded', this.endingValue);
  }
}
