import type { QmpClient } from '../protocol/client.js';
import type { GlobalOptions, OptionSpecs } from './args.js';
import type { Output } from './output.js';

export interface CliContext {
  global: GlobalOptions;
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  out: Output;
  /** Fires on SIGINT/SIGTERM: commands that wait stop waiting (and `commit` aborts its job). */
  signal: AbortSignal;
  /**
   * Connects to the monitor named by --socket / --tcp / --domain (with --trace and --connect-timeout).
   * The runner closes it (and flushes the trace) when the command returns.
   */
  connect(): Promise<QmpClient>;
  /**
   * Settles with `work`, unless QEMU's monitor stops answering first (no reply to a probe within
   * --command-timeout): then rejects with MonitorUnresponsiveError. For waits on job events, which
   * would otherwise wait forever on a stuck QEMU.
   */
  whileAlive<T>(work: Promise<T>): Promise<T>;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Longer help: what the options mean and how virsh spells the same. */
  details?: string;
  examples: string[];
  options: OptionSpecs;
  /** Returns the exit code: 0 success, 1 the operation failed. Throw UsageError for exit 2. */
  run(context: CliContext): Promise<number>;
}

export function stringOption(context: CliContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function flag(context: CliContext, name: string): boolean {
  return context.values[name] === true;
}
