import type { QmpEvent } from '../qapi/types.js';
import { timestampSeconds } from '../qapi/types.js';
import type { CliRecord, ProgressRecord } from './records.js';

export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * Everything the CLI prints goes through here, so `--json` (one JSON object per line on stdout) and
 * the human form (virsh's wording, progress on stderr) stay consistent.
 *
 * A reader that goes away (`… | head -1`) must not change what happens to a job: a write error on
 * stdout or stderr (EPIPE) marks that stream gone, later output to it is dropped, and the command
 * finishes what it was asked (`stdoutGone` tells commands that only print, like `events`, to stop).
 * A slow reader is waited for (`drain()`), so what piles up is bounded by the client's queues.
 */
export class Output {
  private progressShown = false;
  /** Per progress label (a group commit draws one per disk): the last 10 % bucket printed on a pipe. */
  private readonly lastPlainBucket = new Map<string, number>();
  private readonly gone = new Set<NodeJS.WritableStream>();
  private readonly stdoutController = new AbortController();
  private stdoutFull = false;
  private drainWaiters: Array<() => void> = [];

  constructor(
    readonly json: boolean,
    private readonly streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr },
  ) {
    for (const stream of [streams.stdout, streams.stderr]) {
      stream.on('error', () => this.lose(stream));
    }
    streams.stdout.on('drain', () => this.drained());
  }

  /** stdout or stderr failed a write (EPIPE): its reader has gone. */
  get anyStreamGone(): boolean {
    return this.gone.size > 0;
  }

  /** Fires when stdout's reader has gone away (EPIPE): nothing printed from now on can be read. */
  get stdoutGone(): AbortSignal {
    return this.stdoutController.signal;
  }

  /** Resolves when stdout can take more (its buffer is below its high-water mark), is gone, or `signal` fires. */
  drain(signal?: AbortSignal): Promise<void> {
    if (!this.stdoutFull || this.gone.has(this.streams.stdout) || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        this.drainWaiters = this.drainWaiters.filter((w) => w !== done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.drainWaiters.push(done);
    });
  }

  /** How wide stdout is: the terminal's columns, 80 on a pipe or file. */
  get columns(): number {
    const stdout = this.streams.stdout as { isTTY?: boolean; columns?: number };
    return stdout.isTTY && stdout.columns ? stdout.columns : 80;
  }

  /** Prints raw text on stdout (e.g. pretty JSON), like the other results. */
  text(text: string): void {
    this.write(this.streams.stdout, text);
  }

  /** Prints raw text on stderr. */
  note(text: string): void {
    this.write(this.streams.stderr, text);
  }

  /** A result: human text on stdout, or the record as one JSON line (none: nothing under --json). */
  result(human: string | undefined, record?: CliRecord): void {
    if (this.json) {
      if (record !== undefined) this.record(record);
    } else if (human !== undefined) this.line(this.streams.stdout, human);
  }

  /** One --json line: every one is a CliRecord (src/cli/records.ts). */
  private record(record: CliRecord): void {
    this.line(this.streams.stdout, JSON.stringify(record));
  }

  /** A QMP event: a JSON line in --json mode, else virsh qemu-monitor-event --timestamp style. */
  event(event: QmpEvent, humanAlways = false): void {
    if (this.json) {
      this.record({ type: 'event', event: event.event, data: event.data, timestamp: event.timestamp });
    } else if (humanAlways) {
      this.line(
        this.streams.stdout,
        `${formatTimestamp(event)}: event ${event.event}: ${Object.keys(event.data).length ? JSON.stringify(event.data) : '<null>'}`,
      );
    }
  }

  /** virsh's closing words ("Successfully pivoted", "Commit complete", …). */
  message(text: string): void {
    this.endProgress();
    if (this.json) this.record({ type: 'message', message: text });
    else this.line(this.streams.stdout, text);
  }

  /** Something the user should know that is not the result (stderr in both modes). */
  warn(text: string): void {
    this.endProgress();
    this.line(this.streams.stderr, `warning: ${text}`);
  }

  error(text: string): void {
    this.endProgress();
    this.line(this.streams.stderr, `error: ${text}`);
  }

  /**
   * virsh's `Block commit: [ 42.00 %]`: redrawn in place on a terminal; on a pipe or file a plain
   * line only every 10 % (and at 100 %), not a flood. In --json mode a progress object per call.
   */
  progress(label: string, percent: number, extra: Omit<ProgressRecord, 'type' | 'percent'> = {}): void {
    if (this.json) {
      this.record({ type: 'progress', percent: Number(percent.toFixed(2)), ...extra });
      return;
    }
    const text = `${label}: [${percent.toFixed(2).padStart(6)} %]`;
    if (this.streams.stderr.isTTY) {
      this.write(this.streams.stderr, `\r${text}`);
      this.progressShown = true;
      return;
    }
    const bucket = percent >= 100 ? 10 : Math.floor(percent / 10);
    if (bucket !== this.lastPlainBucket.get(label)) {
      this.lastPlainBucket.set(label, bucket);
      this.line(this.streams.stderr, text);
    }
  }

  endProgress(): void {
    if (this.progressShown) {
      this.write(this.streams.stderr, '\n');
      this.progressShown = false;
    }
  }

  private line(stream: NodeJS.WritableStream, text: string): void {
    this.write(stream, `${text}\n`);
  }

  private write(stream: NodeJS.WritableStream, text: string): void {
    if (this.gone.has(stream)) return;
    // The callback sees a write error (EPIPE) even on a stream whose 'error' was already handled.
    const below = stream.write(text, (error) => {
      if (error) this.lose(stream);
    });
    if (!below && stream === this.streams.stdout) this.stdoutFull = true;
  }

  private lose(stream: NodeJS.WritableStream): void {
    if (this.gone.has(stream)) return;
    this.gone.add(stream);
    if (stream === this.streams.stdout) {
      this.stdoutController.abort(new Error('stdout was closed by its reader'));
      this.drained();
    }
  }

  private drained(): void {
    this.stdoutFull = false;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}

/** `2026-11-22 16:17:20.024+0000`, as virsh qemu-monitor-event --timestamp prints it (in UTC). */
export function formatTimestamp(event: QmpEvent): string {
  const seconds = timestampSeconds(event.timestamp);
  if (!(seconds > 0)) return 'unknown time';
  const date = new Date(seconds * 1000);
  const iso = date.toISOString(); // 2026-11-22T16:17:20.024Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}+0000`;
}
