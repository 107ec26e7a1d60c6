import net from 'node:net';
import path from 'node:path';
import type { Test } from 'tap';
import type { QmpClient } from '../../src/internal.js';
import { buildSeedChain, type Layer } from './chain.js';
import { extraMonitorArgs } from './cli.js';
import { startQemu, tempDir } from './qemu.js';

export interface FaultProxyOptions {
  /** QEMU → client: return the lines to pass on instead of `line` (none drops it). */
  fromQemu?: (line: string, connection: number) => string[];
  /** client → QEMU: likewise. */
  toQemu?: (line: string, connection: number) => string[];
}

/**
 * A line-based proxy between a client and a real QEMU monitor, to break a real conversation on
 * purpose. Every message still comes from QEMU; only what a test injects is made up. Connections
 * are numbered from 1, so a transform can treat each client's conversation on its own.
 */
export async function startFaultProxy(
  dir: string,
  upstreamPath: string,
  options: FaultProxyOptions,
): Promise<{
  path: string;
  close: () => Promise<void>;
  cut: () => void;
  inject: (connection: number, toQemu: string) => void;
  deliver: (connection: number, toClient: string) => void;
}> {
  const proxyPath = path.join(dir, 'proxy.sock');
  const sockets = new Set<net.Socket>();
  const upstreams = new Map<number, net.Socket>();
  const clients = new Map<number, net.Socket>();
  let connections = 0;
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
    const n = ++connections;
    const upstream = net.connect(upstreamPath);
    sockets.add(client).add(upstream);
    upstreams.set(n, upstream);
    clients.set(n, client);
    pipeLines(upstream, client, options.fromQemu && ((line) => options.fromQemu!(line, n)));
    pipeLines(client, upstream, options.toQemu && ((line) => options.toQemu!(line, n)));
  });
  await new Promise<void>((resolve) => server.listen(proxyPath, resolve));
  return {
    path: proxyPath,
    /** Sends a line (held back by a transform, say) to QEMU on connection `connection`. */
    inject: (connection, toQemu) => {
      const upstream = upstreams.get(connection);
      if (upstream && !upstream.destroyed) upstream.write(toQemu);
    },
    /** Sends a line (a reply held back by a transform, say) to the client of connection `connection`. */
    deliver: (connection, toClient) => {
      const client = clients.get(connection);
      if (client && !client.destroyed) client.write(toClient);
    },
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

/**
 * Freezes a real QEMU (SIGSTOP: its monitor stops answering, as on hung storage) once `when` says
 * so for a line QEMU sent; the line itself still gets through. `thaw()` sends SIGCONT.
 */
export function freezeQemuAfter(
  pid: number,
  when: (line: string, connection: number) => boolean,
): FaultProxyOptions & { thaw: () => void; frozen: () => boolean } {
  let frozen = false;
  return {
    fromQemu: (line, connection) => {
      if (!frozen && when(line, connection)) {
        frozen = true;
        // After this line is written: QEMU's own bytes before the freeze all reach the client.
        setImmediate(() => process.kill(pid, 'SIGSTOP'));
      }
      return [line];
    },
    thaw: () => {
      if (frozen) process.kill(pid, 'SIGCONT');
      frozen = false;
    },
    frozen: () => frozen,
  };
}

/**
 * The seed chain on -drive drive0 behind a fault proxy that lets the complete command (job-complete) reach QEMU but,
 * from then on, nothing back: at the complete's reply the connection drops. The CLI connects to
 * `proxy.path`; the test keeps `client` (its own monitor) to see what QEMU really did.
 */
export async function startGuestLosingTheLineAfterComplete(
  t: Test,
): Promise<{ dir: string; client: QmpClient; layers: Layer[]; proxy: Awaited<ReturnType<typeof startFaultProxy>> }> {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  let completeId: unknown;
  const proxy = await startFaultProxy(dir, cli, {
    toQemu: (line) => {
      const message = JSON.parse(line) as { execute?: string; id?: unknown };
      if (message.execute === 'job-complete' || message.execute === 'block-job-complete') completeId = message.id;
      return [line];
    },
    fromQemu: (line) => {
      if (completeId === undefined) return [line];
      // From the complete on, nothing reaches the CLI (the pivot's events included); at its reply, the line drops.
      if ((JSON.parse(line) as { id?: unknown }).id === completeId) setImmediate(() => proxy.cut());
      return [];
    },
  });
  t.teardown(proxy.close);
  return { dir, client, layers, proxy };
}
