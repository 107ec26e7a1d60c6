import { AbortedError } from '../../protocol/errors.js';
import { parseCount, parseSeconds } from '../args.js';
import { stringOption, type CommandSpec } from '../context.js';
import { timeoutSignal } from '../../util/timers.js';

export const eventsCommand: CommandSpec = {
  name: 'events',
  summary: 'print QMP events as they arrive, until Ctrl-C (virsh qemu-monitor-event --loop --timestamp)',
  usage: 'events [--filter NAME]… [--count N] [--timeout SECONDS]',
  details: '--filter may be repeated; names match exactly, case-insensitively. --count stops after N events, --timeout after that long.',
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock events',
    'qmp-blockjob --socket /tmp/qmp.sock events --filter JOB_STATUS_CHANGE --filter BLOCK_JOB_READY --json',
  ],
  options: {
    filter: { type: 'string', multiple: true },
    count: { type: 'string' },
    timeout: { type: 'string' },
  },
  async run(context) {
    const filters = (context.values.filter as string[] | undefined)?.map((f) => f.toUpperCase());
    const countText = stringOption(context, 'count');
    const count = countText === undefined ? Infinity : parseCount(countText, '--count', 'events');
    const timeoutText = stringOption(context, 'timeout');
    const signals = [context.signal];
    if (timeoutText !== undefined) signals.push(timeoutSignal(parseSeconds(timeoutText, '--timeout', 'events') * 1000));
    const signal = AbortSignal.any(signals);
    const client = await context.connect();
    let received = 0;
    try {
      const stream = client.events({ signal, where: filters ? (e) => filters.includes(e.event.toUpperCase()) : undefined });
      // Scripts (and our tests) can wait for this line instead of guessing when we are listening.
      context.out.result(undefined, { type: 'listening', peer: client.peer });
      if (received < count) {
        for await (const event of stream) {
          context.out.event(event, true);
          if (++received >= count) break;
        }
      }
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error;
    }
    if (!context.out.json && received < count) {
      process.stderr.write(`${context.signal.aborted ? 'event loop interrupted' : 'event loop timed out'}\nevents received: ${received}\n`);
    }
    return 0;
  },
};
