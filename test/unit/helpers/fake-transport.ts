// A Transport with no peer behind it: the test plays QEMU, line by line (as QEMU's own python
// tests use a null protocol). What the client writes is parsed and handed to `onCommand`.
import type { Transport, TransportHandlers } from '../../../src/transport/transport.js';

export class FakeTransport implements Transport {
  readonly peer = 'fake:qemu';
  readonly written: Array<Record<string, unknown>> = [];
  private handlers: TransportHandlers | undefined;
  private readonly early: Buffer[] = [];
  closed = false;
  onCommand: ((command: Record<string, unknown>) => void) | undefined;

  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
    for (const chunk of this.early.splice(0)) handlers.onData(chunk);
  }

  write(data: string): void {
    if (this.closed) throw new Error('closed');
    for (const line of data.split('\n').filter((l) => l.trim())) {
      const command = JSON.parse(line) as Record<string, unknown>;
      this.written.push(command);
      this.onCommand?.(command);
    }
  }

  /** QEMU sends `message` (one line), or raw bytes. */
  send(message: Record<string, unknown> | string): void {
    const chunk = Buffer.from(typeof message === 'string' ? message : `${JSON.stringify(message)}\r\n`);
    if (this.handlers) this.handlers.onData(chunk);
    else this.early.push(chunk);
  }

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.onClose(error);
  }
}

/** QEMU's greeting as 7.2 sends it (from test/fixtures: the recorded greeting's shape). */
export const GREETING = { QMP: { version: { qemu: { micro: 22, minor: 2, major: 7 }, package: '' }, capabilities: ['oob'] } };

/** A fake that greets and accepts qmp_capabilities, and lets the test answer everything else. */
export function negotiatingTransport(answer?: (command: Record<string, unknown>, transport: FakeTransport) => void): FakeTransport {
  const transport = new FakeTransport();
  transport.onCommand = (command) => {
    if (command.execute === 'qmp_capabilities') transport.send({ return: {}, id: command.id });
    else answer?.(command, transport);
  };
  transport.send(GREETING);
  return transport;
}
