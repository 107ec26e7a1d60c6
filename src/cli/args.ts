import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../protocol/client.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../transport/transport.js';

/** A mistake in how the command was called: exit code 2, message plus the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>[string];
export type OptionSpecs = Record<string, OptionSpec>;

/** `--NAME` switches, one spec each: `{ ...booleanOptions('pivot', 'finish') }`. */
export function booleanOptions<const N extends string>(...names: N[]): { readonly [K in N]: { readonly type: 'boolean' } } {
  return Object.fromEntries(names.map((name) => [name, { type: 'boolean' }])) as { readonly [K in N]: { readonly type: 'boolean' } };
}

/** `--NAME VALUE` options, one spec each. */
export function stringOptions<const N extends string>(...names: N[]): { readonly [K in N]: { readonly type: 'string' } } {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as { readonly [K in N]: { readonly type: 'string' } };
}

/** Options every command takes, before or after the command name. */
export const GLOBAL_OPTIONS = {
  socket: { type: 'string' },
  tcp: { type: 'string' },
  domain: { type: 'string' },
  connect: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  trace: { type: 'string' },
  'trace-append': { type: 'boolean' },
  'trace-secrets': { type: 'boolean' },
  'connect-timeout': { type: 'string' },
  'command-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

export interface GlobalOptions {
  socket?: string;
  tcp?: { host: string; port: number };
  domain?: string;
  connect?: string;
  json: boolean;
  trace?: string;
  /** --trace-append: add this session to an existing trace file. */
  traceAppend: boolean;
  /** --trace-secrets: record secrets (object-add secret data, passwords) as sent. */
  traceSecrets: boolean;
  connectTimeoutMs: number;
  /** --connect-timeout was given: wait that long for a greeting too (else a silent monitor is "in use" after 1 s). */
  connectTimeoutExplicit: boolean;
  /** Timeout of every QMP command, and how long the monitor may stay silent during a long wait. */
  commandTimeoutMs: number;
  help: boolean;
}

export interface ParsedCommand {
  command: string | undefined;
  positionals: string[];
  /** The command's own options, by name (strings, booleans, or arrays for `multiple`). */
  values: Record<string, string | boolean | string[] | undefined>;
  global: GlobalOptions;
}

/**
 * Parses argv in two passes: a lenient one over every known option finds the command name wherever
 * global options stand, then a strict one with the global options plus that command's own.
 */
export function parseCommandLine(
  argv: readonly string[],
  commandOptions: (command: string) => OptionSpecs | undefined,
  allOptions: OptionSpecs,
): ParsedCommand {
  let first;
  try {
    first = parseArgs({ args: [...argv], options: { ...allOptions, ...GLOBAL_OPTIONS }, allowPositionals: true, strict: false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const command = first.positionals[0];
  const own = command === undefined ? {} : commandOptions(command);
  if (own === undefined) throw new UsageError(`unknown command '${command}'`);
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...own, ...GLOBAL_OPTIONS }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''), command);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  for (const [name, value] of Object.entries(values)) {
    // `--base "$UNSET"` is a script bug, not "the default": an empty value is never meant.
    if (value === '' || (Array.isArray(value) && value.includes(''))) throw new UsageError(`--${name} wants a value, got an empty string`, command);
  }
  return { command, positionals: parsed.positionals.slice(1), values, global: globalOptions(values, command) };
}

function globalOptions(values: Record<string, string | boolean | string[] | undefined>, command: string | undefined): GlobalOptions {
  const str = (name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const global: GlobalOptions = {
    json: values.json === true,
    help: values.help === true,
    traceAppend: values['trace-append'] === true,
    traceSecrets: values['trace-secrets'] === true,
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    connectTimeoutExplicit: false,
    commandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS,
  };
  const socket = str('socket');
  const tcp = str('tcp');
  const domain = str('domain');
  const given = [socket && '--socket', tcp && '--tcp', domain && '--domain'].filter(Boolean);
  if (given.length > 1) throw new UsageError(`${given.join(' and ')} exclude each other: name one monitor`, command);
  if (socket) global.socket = socket;
  if (domain) global.domain = domain;
  const connect = str('connect');
  if (connect) {
    if (!domain) throw new UsageError('--connect URI goes with --domain NAME', command);
    global.connect = connect;
  }
  if (tcp) {
    const match = /^(.*):(\d+)$/.exec(tcp);
    const port = match ? Number(match[2]) : NaN;
    if (!match || !match[1] || !(port > 0 && port < 65536)) throw new UsageError(`--tcp wants HOST:PORT, got '${tcp}'`, command);
    global.tcp = { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
  }
  const trace = str('trace');
  if (trace) global.trace = trace;
  for (const [given, option] of [
    [global.traceAppend, '--trace-append'],
    [global.traceSecrets, '--trace-secrets'],
  ] as const) {
    if (given && !trace) throw new UsageError(`${option} goes with --trace FILE`, command);
  }
  const timeout = str('connect-timeout');
  if (timeout !== undefined) {
    global.connectTimeoutMs = parseSeconds(timeout, '--connect-timeout', command) * 1000;
    global.connectTimeoutExplicit = true;
  }
  const commandTimeout = str('command-timeout');
  if (commandTimeout !== undefined) global.commandTimeoutMs = parseSeconds(commandTimeout, '--command-timeout', command) * 1000;
  return global;
}

/**
 * A positive number of seconds (fractions allowed, any size: src/util/timers.ts takes fractional,
 * sub-millisecond and longer-than-24.8-day timeouts alike).
 */
export function parseSeconds(text: string, option: string, command?: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(value > 0)) throw new UsageError(`${option} wants a positive number of seconds, got '${text}'`, command);
  if (!Number.isFinite(value * 1000)) throw new UsageError(`${option} ${text} is too large`, command);
  return value;
}

/** A non-negative integer. */
export function parseCount(text: string, option: string, command?: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${option} wants a whole number, got '${text}'`, command);
  return Number(text);
}
