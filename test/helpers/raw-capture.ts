import net from 'node:net';

/**
 * Talks to a QMP socket with no client library at all and returns every byte QEMU sent, so the
 * framing tests feed the framer exactly what QEMU wrote. Sends `commands` one at a time, each after
 * the previous reply, and stops after the last reply.
 */
export function captureRawStream(socketPath: string, commands: readonly object[], timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    let text = '';
    let next = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw capture timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const sendNext = (): void => {
      const command = commands[next++];
      if (command === undefined) {
        clearTimeout(timer);
        socket.end();
        resolve(Buffer.concat(chunks));
        return;
      }
      socket.write(`${JSON.stringify(command)}\n`);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      text += chunk.toString('latin1');
      // Each line that is a greeting or a reply moves us to the next command.
      let newline: number;
      while ((newline = text.indexOf('\n')) !== -1) {
        const line = text.slice(0, newline);
        text = text.slice(newline + 1);
        const message = JSON.parse(line) as Record<string, unknown>;
        if ('QMP' in message || 'return' in message || 'error' in message) sendNext();
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
