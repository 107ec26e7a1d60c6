import type { QmpClient } from '../protocol/client.js';
import { QmpCommandError, QmpError } from '../errors.js';
import { parseCommandLine, UsageError, type OptionSpecs } from './args.js';
import { connectFromOptions, type CliConnection } from './connect.js';
import type { CliContext, CommandSpec } from './context.js';
import { libvirtViewIsCurrent } from './disks.js';
import { Output, type OutputStreams } from './output.js';
import { COMMANDS } from './commands/index.js';
import { CREATING_COMMANDS } from '../protocol/in-flight.js';

import { advisedMessage, nextStep } from './next-step.js';
import { ownEpipeWithin } from '../util/own-epipe.js';
import { VERSION } from './version.js';

/** A SIGPIPE this close to an EPIPE of our own writes is that write's, not a request to stop. */
const OWN_EPIPE_WINDOW_MS = 1000;

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
  // node decodes bytes that are not UTF-8 as U+FFFD: such a file name cannot be sent in QMP's JSON.
  const mangled = argv.find((a) => a.includes('\uFFFD'));
  if (mangled !== undefined)
    return usageFailure(
      new UsageError(
        `argument '${mangled}' is not valid UTF-8 (shown with U+FFFD for the bytes that are not): QMP's JSON cannot carry such a file name, and QEMU would be given another name; rename the file`,
      ),
      table,
    );
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
  const connections: CliConnection[] = [];
  const onSignal = (name: NodeJS.Signals): void => {
    if (interrupt.signal.aborted) return; // a PIPE after the first signal
    // A command that creates something and has no reply yet may have run: say that we wait for it.
    const inFlight = connections.flatMap((c) => c.client.pendingCommands.filter((n) => CREATING_COMMANDS.has(n)));
    if (inFlight.length)
      out.warn(
        `interrupted by ${name} while ${inFlight.join(', ')} had no answer yet: QEMU may already have run it; waiting for its answer to undo it or say what is live`,
      );
    interrupt.abort(new Error(`interrupted by ${name}`));
  };
  const signals = installSignalHandlers(onSignal, out);
  // libvirt-staleness warnings wait for the end: a job libvirt itself tracks leaves its view current.
  const staleWarnings: string[] = [];
  const context: CliContext = {
    global: parsed.global,
    positionals: parsed.positionals,
    values: parsed.values,
    options: parsed.values,
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
    signals.remove();
  }
}

/**
 * Every signal that would end us (a closed terminal or ssh session: HUP; kill: TERM; Ctrl-C: INT;
 * Ctrl-\\: QUIT; a shell pipeline's end: PIPE) gets the orderly end Ctrl-C gets: the job aborted
 * as asked, limits restored. A PIPE from our own write to a reader that left (node ignores PIPE,
 * writes fail with EPIPE and Output drops them) is no request to stop: a job goes on as asked.
 */
function installSignalHandlers(onSignal: (name: NodeJS.Signals) => void, out: Output): { remove(): void } {
  const names = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
  // Once: a second signal ends us at once ("Ctrl-C again to stop waiting").
  const once = (name: NodeJS.Signals): void => {
    for (const n of names) process.off(n, once);
    onSignal(name);
  };
  for (const name of names) process.on(name, once);
  const onPipe = (): void => {
    // The failed write's error is reported within the loop turn the write was made in: look after it.
    // A share client or a virsh child that left raises it too (src/util/own-epipe.ts).
    setImmediate(() =>
      setImmediate(() => {
        if (!out.anyStreamGone && !ownEpipeWithin(OWN_EPIPE_WINDOW_MS)) onSignal('SIGPIPE');
      }),
    );
  };
  process.on('SIGPIPE', onPipe);
  return {
    remove(): void {
      for (const name of names) process.off(name, once);
      // Keep PIPE ignored once we stop listening: without a listener it would kill us on a late write.
      process.on('SIGPIPE', () => {});
      process.off('SIGPIPE', onPipe);
    },
  };
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
    const said =
      error.cause instanceof QmpCommandError
        ? error.message.includes(error.cause.desc)
        : error.cause instanceof Error && error.message.includes(error.cause.message);
    const cause = error.cause instanceof Error && !said ? ` (${error.cause.message})` : '';
    return `${advisedMessage(error)}${cause}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
