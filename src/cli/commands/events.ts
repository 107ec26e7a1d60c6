import { AbortedError } from '../../errors.js';
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
    // A reader that went away (`events | head`) ends the loop: nothing more could be seen.
    const signals = [context.signal, context.out.stdoutGone];
    if (timeoutText !== undefined) signals.push(timeoutSignal(parseSeconds(timeoutText, '--timeout', 'events') * 1000));
    const signal = AbortSignal.any(signals);
    // Stops waiting for a slow reader once the queue behind it overflowed: its error is then thrown.
    const overflow = new AbortController();
    const client = await context.connect();
    let received = 0;
    try {
      const stream = client.events({
        signal,
        where: filters ? (e) => filters.includes(e.event.toUpperCase()) : undefined,
        onOverflow: (error) => overflow.abort(error),
      });
      // Scripts (and our tests) can wait for this line instead of guessing when we are listening.
      context.out.result(undefined, { type: 'listening', peer: client.peer });
      if (received < count) {
        for await (const event of stream) {
          context.out.event(event, true);
          if (++received >= count) break;
          // Wait for a slow reader: events then queue in the client, whose bound (maxQueued) applies.
          await context.out.drain(AbortSignal.any([signal, overflow.signal]));
        }
      }
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error;
    }
    if (!context.out.json && received < count && !context.out.stdoutGone.aborted) {
      context.out.note(`${context.signal.aborted ? 'event loop interrupted' : 'event loop timed out'}\nevents received: ${received}\n`);
    }
    return 0;
  },
};
