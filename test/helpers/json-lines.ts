// A test's raw QMP client reads what a socket sends: one JSON message per line, split anywhere by the network.
import type net from 'node:net';

/** Calls `each` with every newline-terminated JSON message `socket` sends, in order. */
export function onJsonLines(socket: net.Socket, each: (message: Record<string, unknown>) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => {
    buffered += text;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const message = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
      buffered = buffered.slice(nl + 1);
      each(message);
    }
  });
}
