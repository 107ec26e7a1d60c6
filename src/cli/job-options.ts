/*
 * The options of the commands that run block jobs (commit, pull, copy, backup, job), declared once
 * and read once: each command spreads the sets it takes, and gets them typed.
 */
import type { CopyMode } from '../jobs/mirror-options.js';
import { booleanOptions, parseSeconds, stringOptions, UsageError, type OptionSpecs } from './args.js';
import type { OptionValues } from './context.js';

const MIB = 1024 * 1024;

/** `--bandwidth N [--bytes]`: every command that starts or changes a job. */
export const BANDWIDTH_OPTIONS = { ...stringOptions('bandwidth'), ...booleanOptions('bytes') } as const satisfies OptionSpecs;

/** How a job is watched: `--verbose` progress, and its `--bandwidth` (backup, `job DISK`, and every command below). */
export const FOLLOW_OPTIONS = { ...booleanOptions('verbose'), ...BANDWIDTH_OPTIONS } as const satisfies OptionSpecs;

/** Those, and `--timeout S`: how long a job is waited for before it is aborted (backup, and every command below). */
export const BOUNDED_OPTIONS = { ...FOLLOW_OPTIONS, ...stringOptions('timeout') } as const satisfies OptionSpecs;

/** The options every job-starting command shares (commit, pull, copy): those, waiting, --async, the job id. */
export const JOB_WAIT_OPTIONS = {
  ...BOUNDED_OPTIONS,
  ...booleanOptions('wait', 'async'),
  ...stringOptions('job-id'),
} as const satisfies OptionSpecs;

/** Those, and what the commands that shorten a chain (commit, pull) add: the backing link, deleting what left the chain. */
export const JOB_RUN_OPTIONS = {
  ...JOB_WAIT_OPTIONS,
  ...booleanOptions('keep-relative', 'delete'),
} as const satisfies OptionSpecs;

/** `--copy-mode background|write-blocking`: copy, and `job DISK` on a running copy. */
export const COPY_MODE_OPTIONS = stringOptions('copy-mode');

/** `--bandwidth N` in MiB/s (virsh's default unit) or bytes/s with `--bytes`. */
export function parseBandwidth(options: OptionValues<typeof BANDWIDTH_OPTIONS>, command: string): number | undefined {
  const text = options.bandwidth;
  const bytes = options.bytes === true;
  if (text === undefined) {
    if (bytes) throw new UsageError('--bytes goes with --bandwidth', command);
    return undefined;
  }
  if (!/^\d+$/.test(text)) throw new UsageError(`--bandwidth wants a whole number (${bytes ? 'bytes' : 'MiB'}/s), got '${text}'`, command);
  const value = Number(text) * (bytes ? 1 : MIB);
  if (!Number.isSafeInteger(value)) throw new UsageError(`--bandwidth ${text} is too large`, command);
  return value;
}

/** `--timeout S`: the text as given (for messages) and milliseconds. */
export function parseTimeout(
  options: OptionValues<Pick<typeof BOUNDED_OPTIONS, 'timeout'>>,
  command: string,
): { timeoutText: string | undefined; timeoutMs: number | undefined } {
  const timeoutText = options.timeout;
  return { timeoutText, timeoutMs: timeoutText === undefined ? undefined : parseSeconds(timeoutText, '--timeout', command) * 1000 };
}

/** `--copy-mode background|write-blocking`. */
export function parseCopyMode(options: OptionValues<typeof COPY_MODE_OPTIONS>, command: string): CopyMode | undefined {
  const mode = options['copy-mode'];
  if (mode !== undefined && mode !== 'background' && mode !== 'write-blocking')
    throw new UsageError(`--copy-mode is background or write-blocking, got '${mode}'`, command);
  return mode;
}
