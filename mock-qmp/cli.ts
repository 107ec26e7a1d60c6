#!/usr/bin/env node
// mock-qmp record | serve: see --help.
import { parseArgs } from 'node:util';
import { QmpError } from '../src/errors.js';
import { FAULT_SPECS, parseFault, type Fault } from './faults.js';
import { startRecorder } from './recorder.js';
import { startMockQmp } from './server.js';

const HELP = `Usage:
  mock-qmp record --upstream PATH --socket PATH --out FILE [--note TEXT] [--force] [--secrets]
      Listen on --socket and forward every connection, byte for byte, to the QEMU monitor at
      --upstream, writing the traffic to FILE (qmp-trace JSON Lines, mode 0600). Runs until
      SIGINT/SIGTERM. An existing FILE is refused unless --force; symbolic links never followed.
      Secrets (object-add secret data, passwords) are recorded as "<redacted>" unless --secrets.
      --socket PATH replaces only a stale socket (one nobody listens on), nothing else.
  mock-qmp serve --trace FILE (--socket PATH | --tcp HOST:PORT) [--speed X | --instant] [--strict]
                 [--recorded-time] [--schema FILE] [--replay] [--fault SPEC]...
      Serve FILE as a QMP server that answers any client as the recorded QEMU would (its graph,
      jobs, refusals), with the client's own job ids and arguments; events get the current time
      unless --recorded-time; --schema FILE is a trace with a query-qmp-schema reply for a FILE that
      has none; --strict reports the first command the transcript cannot answer. (--model, the
      former flag for this, is still accepted.)
      --replay replays FILE position by position instead, for the client that recorded it (byte
      for byte; why: docs/trace-format.md): events keep their recorded spacing (scaled by --speed;
      none with --instant); --strict ends the connection with a GenericError on the first command
      that deviates from the recording.
      Faults: ${FAULT_SPECS.join(', ')}
  mock-qmp --help

Exit status: 0 on a clean stop, 1 on a runtime error, 2 on a usage error.`;

class UsageError extends Error {}

function fail(error: unknown): never {
  const usage = error instanceof UsageError || (error instanceof TypeError && 'code' in error);
  const text = error instanceof Error ? error.message : String(error);
  process.stderr.write(`mock-qmp: ${text.split('\n')[0]}${usage ? ' (see mock-qmp --help)' : ''}\n`);
  process.exit(usage ? 2 : 1);
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

function parseTcp(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--tcp wants HOST:PORT, got ${JSON.stringify(text)}`);
  return { host: text.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

async function main(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(`${HELP}\n`);
    if (verb === undefined) process.exit(2);
    return;
  }
  if (verb === 'record') {
    const { values } = parseArgs({
      args: rest,
      options: {
        upstream: { type: 'string' },
        socket: { type: 'string' },
        out: { type: 'string' },
        note: { type: 'string' },
        force: { type: 'boolean' },
        secrets: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
    if (values.help) return void process.stdout.write(`${HELP}\n`);
    if (!values.upstream || !values.socket || !values.out) throw new UsageError('record needs --upstream, --socket and --out');
    const recorder = await startRecorder({
      upstream: values.upstream,
      socket: values.socket,
      out: values.out,
      note: values.note,
      overwrite: values.force === true,
      keepSecrets: values.secrets === true,
      command: ['mock-qmp', ...argv].join(' '),
      onWarning: (error) => process.stderr.write(`mock-qmp: warning: ${error.message}\n`),
    });
    process.stderr.write(`mock-qmp: recording ${values.socket} -> ${values.upstream} into ${values.out}\n`);
    await waitForSignal();
    await recorder.close();
    return;
  }
  if (verb === 'serve') {
    const { values } = parseArgs({
      args: rest,
      options: {
        trace: { type: 'string' },
        socket: { type: 'string' },
        tcp: { type: 'string' },
        speed: { type: 'string' },
        instant: { type: 'boolean' },
        strict: { type: 'boolean' },
        model: { type: 'boolean' },
        replay: { type: 'boolean' },
        'recorded-time': { type: 'boolean' },
        schema: { type: 'string' },
        fault: { type: 'string', multiple: true },
        help: { type: 'boolean' },
      },
      strict: true,
    });
    if (values.help) return void process.stdout.write(`${HELP}\n`);
    if (!values.trace) throw new UsageError('serve needs --trace FILE');
    if (!values.socket === !values.tcp) throw new UsageError('serve needs exactly one of --socket PATH and --tcp HOST:PORT');
    if (values.replay && values.model) throw new UsageError('--replay and --model exclude each other');
    if (values.replay && (values['recorded-time'] || values.schema)) throw new UsageError('--recorded-time and --schema go with the model, not --replay');
    if (values.speed !== undefined && values.instant) throw new UsageError('--speed and --instant exclude each other');
    const speed = values.speed === undefined ? undefined : Number(values.speed);
    if (speed !== undefined && !(speed > 0)) throw new UsageError(`--speed wants a positive number, got ${JSON.stringify(values.speed)}`);
    let faults: Fault[];
    try {
      faults = (values.fault ?? []).map(parseFault);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const server = await startMockQmp({
      trace: values.trace,
      ...(values.socket ? { socket: values.socket } : { tcp: parseTcp(values.tcp!) }),
      speed,
      instant: values.instant,
      strict: values.strict,
      // Any client by default, as the recorded QEMU would answer it; positional replay when asked.
      model: !values.replay,
      recordedTime: values['recorded-time'],
      schema: values.schema,
      faults,
      onError: (error) => process.stderr.write(`mock-qmp: ${error.message}\n`),
    });
    process.stderr.write(`mock-qmp: serving ${values.trace} on ${server.path ?? `tcp port ${server.port}`}\n`);
    await waitForSignal();
    await server.close();
    return;
  }
  throw new UsageError(`unknown command ${JSON.stringify(verb)}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof QmpError || error instanceof Error) fail(error);
  fail(String(error));
});
