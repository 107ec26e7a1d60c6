/*
 * The commands that create something in QEMU (a job, an overlay, a node, a limit) are never given
 * up on once sent: a Ctrl-C while one is in flight would otherwise leave the caller saying
 * "aborted" while QEMU runs what it was sent. Their reply is awaited (bounded by the command
 * timeout); the signal only stops them from being sent at all.
 */
import { AbortedError, CommandNotSentError, CommandOutcomeUnknownError, ConnectionClosedError, QmpTimeoutError } from '../errors.js';
import { ConnectionState, type QmpClient } from './client.js';

/** What creates something in QEMU: a signal while one is in flight waits for its reply. */
export const CREATING_COMMANDS: ReadonlySet<string> = new Set([
  'block-commit',
  'block-stream',
  'blockdev-mirror',
  'drive-mirror',
  'transaction',
  'blockdev-add',
  'blockdev-snapshot-sync',
  'block_set_io_throttle',
]);

export interface CreatingCommandOptions {
  timeoutMs?: number | undefined;
  /** Checked before sending only: once sent, the reply decides. */
  signal?: AbortSignal | undefined;
}

/**
 * Sends `name` unless `signal` has fired (then AbortedError: nothing was sent) and waits for its
 * reply whatever the signal does. A reply that never comes is CommandOutcomeUnknownError.
 */
export async function executeCreating<T>(
  client: Pick<QmpClient, 'executeUntyped'> & { readonly state?: ConnectionState },
  name: string,
  args: object | undefined,
  options: CreatingCommandOptions = {},
): Promise<T> {
  if (options.signal?.aborted) throw new AbortedError(`${name}, before it was sent (nothing was started),`, { cause: options.signal.reason });
  // A closed connection refuses before sending: that is no unknown outcome.
  if (client.state !== undefined && client.state !== ConnectionState.Running)
    return (await client.executeUntyped(name, args as Record<string, unknown> | undefined)) as T;
  try {
    return (await client.executeUntyped(
      name,
      args as Record<string, unknown> | undefined,
      options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {},
    )) as T;
  } catch (error) {
    // Refused before it was written (the connection had closed): QEMU never saw it, no unknown outcome.
    if (error instanceof CommandNotSentError) throw error;
    if (error instanceof QmpTimeoutError || error instanceof ConnectionClosedError) throw new CommandOutcomeUnknownError(name, { cause: error });
    throw error;
  }
}
