import net from 'node:net';
import path from 'node:path';

export interface FaultProxyOptions {
  /** QEMU → client: return the lines to pass on instead of `line` (none drops it). */
  fromQemu?: (line: string) => string[];
  /** client → QEMU: likewise. */
  toQemu?: (line: string) => string[];
}

/**
 * A line-based proxy between a client and a real QEMU monitor, to break a real conversation on
 * purpose. Every message still comes from QEMU; only what a test injects is made up.
 */
export async function startFaultProxy(dir: string, upstreamPath: string, options: FaultProxyOptions): Promise<{ path: string; close: () => Promise<void>; cut: () => void }> {
  const proxyPath = path.join(dir, 'proxy.sock');
  const sockets = new Set<net.Socket>();
  const pipeLines = (from: net.Socket, to: net.Socket, transform: ((line: string) => string[]) | undefined): void => {
    let buffered = '';
    from.setEncoding('utf8');
    from.on('data', (text: string) => {
      buffered += text;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline + 1);
        buffered = buffered.slice(newline + 1);
        for (const out of transform ? transform(line) : [line]) if (!to.destroyed) to.write(out);
      }
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPath);
    sockets.add(client).add(upstream);
    pipeLines(upstream, client, options.fromQemu);
    pipeLines(client, upstream, options.toQemu);
  });
  await new Promise<void>((resolve) => server.listen(proxyPath, resolve));
  return {
    path: proxyPath,
    /** Drops every connection at once, as a dying QEMU or network would. */
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
