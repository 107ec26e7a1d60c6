import type { Test } from 'tap';
import { startFaultProxy } from './fault-proxy.js';

/**
 * A proxy in front of a real monitor that holds QEMU's reply to the first `command` a client sends:
 * QEMU has run it (its reply exists), the client does not know yet. `held` resolves once the reply
 * is held; `release()` lets it through; `drop()` throws it away (a reply that never comes).
 */
export async function holdReplyTo(
  t: Test,
  dir: string,
  upstream: string,
  command: string,
): Promise<{ path: string; held: Promise<void>; release: () => void; drop: () => void }> {
  let sent: { id: unknown; connection: number } | undefined;
  let heldLine: string | undefined;
  let settled = false;
  let onHeld!: () => void;
  const held = new Promise<void>((resolve) => (onHeld = resolve));
  const proxy = await startFaultProxy(dir, upstream, {
    toQemu: (line, connection) => {
      const message = JSON.parse(line) as { execute?: string; id?: unknown };
      if (sent === undefined && message.execute === command) sent = { id: message.id, connection };
      return [line];
    },
    fromQemu: (line, connection) => {
      if (settled || sent === undefined || connection !== sent.connection || (JSON.parse(line) as { id?: unknown }).id !== sent.id) return [line];
      heldLine = line;
      onHeld();
      return [];
    },
  });
  t.teardown(proxy.close);
  return {
    path: proxy.path,
    held,
    release: () => {
      settled = true;
      if (heldLine !== undefined && sent) proxy.deliver(sent.connection, heldLine);
    },
    drop: () => {
      settled = true;
    },
  };
}
