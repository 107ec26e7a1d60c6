import type { Test } from 'tap';
import { startFaultProxy } from './fault-proxy.js';

/**
 * A proxy in front of a real monitor that holds the first `command` a client sends, either before
 * QEMU sees it (`at: 'command'`: the client has sent it, QEMU has not run it) or QEMU's reply to it
 * (`at: 'reply'`: QEMU has run it, the client does not know yet). `held` resolves once it is held;
 * `release()` lets it through; `drop()` throws it away (a reply that never comes).
 */
export async function holdFirst(
  t: Test,
  dir: string,
  upstream: string,
  command: string,
  at: 'command' | 'reply',
): Promise<{ path: string; held: Promise<void>; release: () => void; drop: () => void }> {
  let sent: { id: unknown; connection: number } | undefined;
  let heldLine: string | undefined;
  let settled = false;
  let onHeld!: () => void;
  const held = new Promise<void>((resolve) => (onHeld = resolve));
  const hold = (line: string): string[] => {
    heldLine = line;
    onHeld();
    return [];
  };
  const proxy = await startFaultProxy(dir, upstream, {
    toQemu: (line, connection) => {
      const message = JSON.parse(line) as { execute?: string; id?: unknown };
      if (sent !== undefined || message.execute !== command) return [line];
      sent = { id: message.id, connection };
      return at === 'command' ? hold(line) : [line];
    },
    fromQemu: (line, connection) => {
      if (at === 'command' || settled || sent === undefined || connection !== sent.connection || (JSON.parse(line) as { id?: unknown }).id !== sent.id)
        return [line];
      return hold(line);
    },
  });
  t.teardown(proxy.close);
  return {
    path: proxy.path,
    held,
    release: () => {
      settled = true;
      if (heldLine === undefined || !sent) return;
      if (at === 'command') proxy.inject(sent.connection, heldLine);
      else proxy.deliver(sent.connection, heldLine);
    },
    drop: () => {
      settled = true;
    },
  };
}

/** QEMU's reply to the first `command` a client sends, held (holdFirst at the reply). */
export function holdReplyTo(t: Test, dir: string, upstream: string, command: string): ReturnType<typeof holdFirst> {
  return holdFirst(t, dir, upstream, command, 'reply');
}
