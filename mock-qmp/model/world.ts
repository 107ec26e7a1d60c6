/*
 * What the model's QEMU has at this moment, shared by every connection to one server as QEMU's state
 * is shared by its monitors: the graph epoch, the jobs clients started, and whether QEMU went away.
 * Job events go to every connection that negotiated, as QEMU broadcasts them.
 */
import type { QmpMessage } from '../../src/framing.js';
import { isJsonObject as isObject } from '../../src/util/json.js';
import { setLongTimeout, type LongTimer } from '../../src/util/timers.js';
import type { OutputQueue } from '../output.js';
import type { RecordedJob } from './jobs.js';
import type { JobSink, LiveJob } from './live-job.js';
import type { TranscriptModel } from './model.js';
import { ClientNames, type RecordedSnapshot } from './snapshots.js';

interface Listener {
  out: OutputQueue;
  negotiated: () => boolean;
}

export class ModelWorld {
  /** The graph epoch the replay stands at (graph.ts). */
  epoch = 0;
  readonly jobs: LiveJob[] = [];
  /** Bytes clients wrote through the guest (HMP qemu-io), by the device name they gave (query-blockstats). */
  readonly written = new Map<string, number>();
  /** Bitmaps clients added (block-dirty-bitmap-add), as "node\0name": a backup of one is not refused. */
  readonly bitmaps = new Set<string>();
  /** Recorded jobs already replayed: a second equivalent command replays the next one. */
  readonly used = new Set<RecordedJob>();
  /** Recorded snapshots a client's own stands for, and the client's names for the recorded ones. */
  readonly usedSnapshots = new Set<RecordedSnapshot>();
  readonly names = new ClientNames();
  /** Nodes clients added (blockdev-add) and the file each opens: an overlay for a client's blockdev-snapshot. */
  readonly added = new Map<string, string>();
  /** Commands from all clients, for a transcript whose QEMU went away without a job alive. */
  private commands = 0;
  /** QEMU went away (the transcript's EOF): connections are closed, new ones at once. */
  gone = false;
  private eofTimer: LongTimer | undefined;
  private readonly listeners = new Set<Listener>();

  constructor(
    readonly model: TranscriptModel,
    private readonly options: { scale: number; recordedTime: boolean },
  ) {}

  attach(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.gone) this.closeOne(listener);
    return () => this.listeners.delete(listener);
  }

  /** The jobs that still exist (dismissed ones are dropped, so a long-lived server does not pile them up). */
  live(): LiveJob[] {
    for (let i = this.jobs.length - 1; i >= 0; i--) if (this.jobs[i]!.gone) this.jobs.splice(i, 1);
    return this.jobs;
  }

  sink(): JobSink {
    return {
      scale: this.options.scale,
      event: (message) => this.broadcast(message),
      close: () => this.qemuGone(),
      ended: (job) => {
        // The graph after the job is the recorded one only when the client ended it as the recording did.
        this.epoch = job.followsRecording ? job.recorded.epochAfter : job.recorded.epoch;
      },
    };
  }

  /** A command came from some client: a transcript that ended with QEMU gone and no job alive may end now. */
  commandSeen(): void {
    this.commands += 1;
    const end = this.model.eofAfterCommands;
    if (!end || this.eofTimer || this.commands < end.commands) return;
    this.eofTimer = setLongTimeout(() => this.qemuGone(), Math.max(end.delayMs * this.options.scale, 0.001));
  }

  stop(): void {
    for (const job of this.jobs) job.stopTimer();
    this.eofTimer?.clear();
  }

  private broadcast(message: QmpMessage): void {
    const timestamp = this.options.recordedTime && isObject(message.timestamp) ? message.timestamp : now();
    for (const { out, negotiated } of this.listeners) {
      if (negotiated())
        out.enqueue(performance.now(), { kind: 'message', message: { timestamp, event: message.event, data: this.names.outward(message.data) } });
    }
  }

  private qemuGone(): void {
    this.gone = true;
    this.stop();
    for (const listener of this.listeners) this.closeOne(listener);
  }

  private closeOne({ out }: Listener): void {
    out.enqueue(performance.now(), { kind: 'close' });
    out.done = true;
  }
}

function now(): { seconds: number; microseconds: number } {
  const ms = Date.now();
  return { seconds: Math.floor(ms / 1000), microseconds: (ms % 1000) * 1000 };
}
