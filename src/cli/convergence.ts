/* The CLI's side of the convergence guard: `--converge throttle=N` and what the user is told. */
import type { DiskChain } from '../block/types.js';
import { ConvergenceGuard, type GuardedJob } from '../jobs/convergence-guard.js';
import type { QmpClient } from '../protocol/client.js';
import { UsageError } from './args.js';
import type { CliContext, OptionValues } from './context.js';

const MIB = 1024 * 1024;

function mibs(bytesPerSecond: number): string {
  return `${(bytesPerSecond / MIB).toFixed(1)} MiB/s`;
}

/** `--converge throttle=N` (N MiB/s): the guest's write limit; undefined without --converge. */
export function parseConverge(options: OptionValues<{ converge: { type: 'string' } }>, command: string): number | undefined {
  const text = options.converge;
  if (text === undefined) return undefined;
  const match = /^throttle=(\d+)$/.exec(text);
  const value = match ? Number(match[1]) : NaN;
  if (!(value > 0 && Number.isSafeInteger(value * MIB)))
    throw new UsageError(`--converge wants throttle=N (the guest's writes in whole MiB/s, at least 1), got '${text}'`, command);
  return value * MIB;
}

/** Starts the guard for a job that runs to READY; `finish()` restores any limit and reports it. */
export function guardConvergence(
  context: CliContext,
  client: QmpClient,
  job: GuardedJob,
  disk: DiskChain,
  throttle: number | undefined,
): { finish(): Promise<void> } {
  const out = context.out;
  const guard = ConvergenceGuard.start(client, job, disk, {
    ...(throttle !== undefined ? { throttleBytesPerSecond: throttle } : {}),
    onNotConverging: (v) => {
      const what =
        throttle !== undefined
          ? `limiting the guest's writes to ${mibs(throttle)} until the pivot`
          : `'--converge throttle=N' would limit the guest's writes to N MiB/s until the pivot`;
      out.warn(
        `not converging: guest writes ${mibs(v.guestBytesPerSecond)}, copy ${mibs(v.copyBytesPerSecond)} (${Math.round(v.remainingBytes / MIB)} MiB left, not shrinking over ${(v.windowMs / 1000).toFixed(1)} s); ${what}`,
      );
      out.result(undefined, {
        type: 'convergence',
        converging: false,
        guestBytesPerSecond: v.guestBytesPerSecond,
        copyBytesPerSecond: v.copyBytesPerSecond,
        remainingBytes: v.remainingBytes,
      });
    },
    onThrottled: () => out.result(undefined, { type: 'throttling', bytesPerSecond: throttle }),
    onTrouble: (error) => out.warn(`convergence guard: ${error.message}`),
  });
  return {
    async finish(): Promise<void> {
      const report = await guard.stop();
      if (!report.throttle) return;
      const seconds = report.throttle.milliseconds / 1000;
      out.result(
        `The guest's writes were limited to ${mibs(report.throttle.bytesPerSecond)} for ${seconds.toFixed(1)} s; its previous I/O limits are restored`,
        { type: 'throttle', bytesPerSecond: report.throttle.bytesPerSecond, seconds, restored: report.throttle.restored },
      );
    },
  };
}
