import type { QmpClient } from '../protocol/client.js';
import type { GlobalOptions, OptionSpecs } from './args.js';
import type { Output } from './output.js';

/** One option's value as parseArgs gives it, from the option's spec. */
type OptionValue<S> = S extends { type: 'boolean' } ? (S extends { multiple: true } ? boolean[] : boolean) : S extends { multiple: true } ? string[] : string;

/** A command's own options, typed from its parse spec: a misspelt option name does not compile. */
export type OptionValues<O extends OptionSpecs> = string extends keyof O
  ? Readonly<Record<string, string | boolean | string[] | undefined>>
  : { readonly [K in keyof O]?: OptionValue<O[K]> };

export interface CliContext<O extends OptionSpecs = OptionSpecs> {
  global: GlobalOptions;
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  /** The same values as `values`, typed by the command's own option specs. */
  options: OptionValues<O>;
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

export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  name: string;
  summary: string;
  usage: string;
  /** Longer help: what the options mean and how virsh spells the same. */
  details?: string;
  examples: string[];
  options: O;
  /** Returns the exit code: 0 success, 1 the operation failed. Throw UsageError for exit 2. */
  run(context: CliContext<O>): Promise<number>;
}

export function stringOption(context: CliContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function flag(context: CliContext, name: string): boolean {
  return context.values[name] === true;
}
