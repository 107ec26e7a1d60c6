/*
 * The jobs a shared connection's clients started, so that the connection is kept while one still
 * runs (src/share/keeper.ts): a job whose client went is still somebody's, and the events of its end
 * go to whoever asks through the share next.
 */
import type { QmpClient } from '../protocol/client.js';

/** Commands that name their job after the device when no job-id is given (QEMU's QAPI). */
const NAMED_AFTER_DEVICE = new Set(['block-commit', 'block-stream', 'drive-mirror', 'drive-backup']);

/** The id of the job `command` starts, if it starts one: any command with a job-id does. */
export function startedJobId(command: string, args: Record<string, unknown> | undefined): string | undefined {
  const id = args?.['job-id'];
  if (typeof id === 'string') return id;
  const device = args?.device;
  return NAMED_AFTER_DEVICE.has(command) && typeof device === 'string' ? device : undefined;
}

/** Job states in which a job is over (QEMU's JobStatus): it runs no more and waits at most for a dismiss. */
const OVER = new Set(['concluded', 'null']);

export class StartedJobs {
  private readonly ids = new Set<string>();

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.ids.add(id);
  }

  add(id: string): void {
    this.ids.add(id);
  }

  note(command: string, args: Record<string, unknown> | undefined): void {
    const id = startedJobId(command, args);
    if (id !== undefined) this.ids.add(id);
  }

  /** A job-status event: a job that is over is forgotten. */
  seen(id: unknown, status: unknown): void {
    if (typeof id === 'string' && typeof status === 'string' && OVER.has(status)) this.ids.delete(id);
  }

  get known(): string[] {
    return [...this.ids];
  }

  /** The jobs started here that QEMU still runs (asked now: query-jobs); the others are forgotten. */
  async running(client: QmpClient): Promise<string[]> {
    if (this.ids.size === 0) return [];
    const jobs = (await client.execute('query-jobs')) as Array<{ id: string; status: string }>;
    const live = new Set(jobs.filter((job) => !OVER.has(job.status)).map((job) => job.id));
    for (const id of this.ids) if (!live.has(id)) this.ids.delete(id);
    return [...this.ids];
  }
}
