import type { QmpClient } from '../protocol/client.js';
import { QmpCommandError, QmpError } from '../errors.js';
import { parseCommandLine, UsageError, type OptionSpecs } from './args.js';
import { connectFromOptions, type CliConnection } from './connect.js';
import type { CliContext, CommandSpec } from './context.js';
import { libvirtViewIsCurrent } from './disks.js';
import { Output, type OutputStreams } from './output.js';
import { COMMANDS } from './commands/index.js';

import { nextStep } from './next-step.js';
import { VERSION } from './version.js';

const GLOBAL_HELP = `Connection (every command): --socket PATH | --tcp HOST:PORT | --domain NAME [--connect URI]
Global options: --json (one JSON object per line)  --trace FILE (record QMP both ways, mock-qmp format; a new
                file, mode 0600, secrets redacted)  --trace-append (add to an existing trace)  --trace-secrets
                --connect-timeout SECONDS (default 10)  --command-timeout SECONDS (default 30: how long QEMU's
                monitor may take to answer a command, or stay silent while a job is waited for)  --help
Global options may stand before or after the command.`;

function commandTable(): Map<string, CommandSpec> {
  return new Map(COMMANDS.map((c) => [c.name, c]));
}

function mainHelp(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`);
  return `qmp-blockjob ${VERSION} — drive QEMU block jobs over QMP

usage: qmp-blockjob [global options] COMMAND [options]

Commands:
${lines.join('\n')}

${GLOBAL_HELP}

Run 'qmp-blockjob COMMAND --help' for a command's options and examples.
Exit status: 0 success, 1 the operation failed, 2 usage error.
`;
}

function commandHelp(spec: CommandSpec): string {
  return `usage: qmp-blockjob [global options] ${spec.usage}

${spec.summary}
${spec.details ? `\n${spec.details}\n` : ''}
${GLOBAL_HELP}

Examples:
${spec.examples.map((e) => `  ${e}`).join('\n')}
`;
}

/** Runs the CLI and returns the exit code: 0 success, 1 the operation failed, 2 usage error. */
export async function runCli(argv: string[], streams?: OutputStreams): Promise<number> {
  const table = commandTable();
  if (argv[0] === '--version' || argv[0] === 'version' || argv[0] === '-V') {
    process.stdout.write(`qmp-blockjob ${VERSION}\n`);
    return 0;
  }
  const allOptions: OptionSpecs = Object.assign({}, ...COMMANDS.map((c) => c.options));
  let parsed;
  try {
    parsed = parseCommandLine(argv, (name) => table.get(name)?.options, allOptions);
  } catch (error) {
    return usageFailure(error, table);
  }
  const spec = parsed.command === undefined ? undefined : table.get(parsed.command);
  if (!spec) {
    process.stdout.write(mainHelp());
    return parsed.global.help ? 0 : 2;
  }
  if (parsed.global.help) {
    process.stdout.write(commandHelp(spec));
    return 0;
  }
  const out = new Output(parsed.global.json, streams);
  const interrupt = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => interrupt.abort(new Error(`interrupted by ${name}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const connections: CliConnection[] = [];
  // libvirt-staleness warnings wait for the end: a job libvirt itself tracks leaves its view current.
  const staleWarnings: string[] = [];
  const context: CliContext = {
    global: parsed.global,
    positionals: parsed.positionals,
    values: parsed.values,
    out,
    signal: interrupt.signal,
    connect: async () => {
      const connection = await connectFromOptions(parsed.global, interrupt.signal, argv, (message) => staleWarnings.push(message));
      connections.push(connection);
      return connection.client;
    },
    whileAlive: (work) => whileAlive(connections.at(-1)?.client, work),
  };
  try {
    return await spec.run(context);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error, table);
    const next = nextStep(error);
    out.error(next ? `${describeFailure(error)}; ${next}` : describeFailure(error));
    return 1;
  } finally {
    out.endProgress();
    if (staleWarnings.length && connections[0]) {
      const current = await libvirtViewIsCurrent(context, connections[0].client).catch(() => false);
      if (!current) for (const warning of staleWarnings) out.warn(warning);
    }
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function whileAlive<T>(client: QmpClient | undefined, work: Promise<T>): Promise<T> {
  if (!client) return work;
  const stop = new AbortController();
  try {
    // The watch resolves only when stopped or when the connection closes: then `work` decides.
    return await Promise.race([work, client.watchLiveness({ signal: stop.signal }).then(() => work)]);
  } finally {
    stop.abort();
  }
}

function usageFailure(error: unknown, table: Map<string, CommandSpec>): number {
  const usage = error instanceof UsageError && error.command ? table.get(error.command)?.usage : undefined;
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.stderr.write(usage ? `usage: qmp-blockjob [global options] ${usage}\n` : "Run 'qmp-blockjob --help' for usage.\n");
  return 2;
}

/** One line: what failed and why, with QEMU's error class and text when QEMU refused. Never a stack. */
export function describeFailure(error: unknown): string {
  if (error instanceof QmpCommandError) return `${error.command} failed: ${error.errorClass}: ${error.desc}`;
  if (error instanceof QmpError) {
    // A cause already said in the message (QEMU's text in a job error) is not said twice.
    const said = error.cause instanceof QmpCommandError ? error.message.includes(error.cause.desc) : error.cause instanceof Error && error.message.includes(error.cause.message);
    const cause = error.cause instanceof Error && !said ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
