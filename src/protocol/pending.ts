import { CommandDeadlines } from './deadlines.js';
import { QmpTimeoutError } from '../errors.js';

export interface PendingCommand {
  command: string;
  args: Record<string, unknown> | undefined;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Remember this many abandoned ids (timed out / aborted) so their late replies are dropped quietly. */
const ABANDONED_MEMORY = 1024;

/**
 * The commands sent and not yet answered, by id (numbers: QEMU echoes any JSON value, and number
 * keys are the cheapest to map), with the shared default deadline and the ids given up on.
 */
export class PendingCommands {
  private readonly pending = new Map<number, PendingCommand>();
  private readonly abandoned = new Set<number>();
  /** Deadlines of commands under the default timeout (one timer for all of them). */
  private readonly deadlines: CommandDeadlines | undefined;

  constructor(
    timeoutMs: number,
    private readonly peer: string,
  ) {
    this.deadlines = timeoutMs === Infinity ? undefined : new CommandDeadlines(timeoutMs, (id) => this.expire(id));
  }

  get size(): number {
    return this.pending.size;
  }

  names(): string[] {
    return [...this.pending.values()].map((c) => c.command);
  }

  /** The default timeout (Infinity: none). */
  get timeoutMs(): number {
    return this.deadlines?.timeoutMs ?? Infinity;
  }

  /** Adds a command; `defaultDeadline` puts it under the shared default timeout. */
  add(id: number, command: PendingCommand, defaultDeadline: boolean): void {
    this.pending.set(id, command);
    if (defaultDeadline) this.deadlines?.add(id);
  }

  /** It could not be sent: forget it entirely. */
  drop(id: number): void {
    this.pending.delete(id);
    this.deadlines?.delete(id);
  }

  /** The caller gave up (its own timeout or signal): a late reply is dropped quietly. */
  abandon(id: number): void {
    if (this.pending.delete(id)) this.forget(id);
  }

  /** The command a reply answers; "abandoned" for one given up on, undefined for an id never sent. */
  take(id: number): PendingCommand | 'abandoned' | undefined {
    const command = this.pending.get(id);
    if (!command) return this.abandoned.delete(id) ? 'abandoned' : undefined;
    this.pending.delete(id);
    this.deadlines?.delete(id);
    return command;
  }

  /** The connection is gone: every command fails with the error `closed` makes for it. */
  rejectAll(closed: (command: string) => Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.deadlines?.clear();
    for (const command of all) command.reject(closed(command.command));
  }

  private expire(id: number): void {
    const command = this.pending.get(id);
    if (!command) return;
    this.pending.delete(id);
    this.forget(id);
    command.reject(new QmpTimeoutError(`${command.command} on ${this.peer}`, this.timeoutMs));
  }

  private forget(id: number): void {
    this.abandoned.add(id);
    if (this.abandoned.size > ABANDONED_MEMORY) {
      const oldest = this.abandoned.values().next().value;
      if (oldest !== undefined) this.abandoned.delete(oldest);
    }
  }
}
