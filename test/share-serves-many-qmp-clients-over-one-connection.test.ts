// `qmp-blockjob share --listen S2` keeps one connection to QEMU's monitor and serves any number of
// QMP clients on S2, each greeted and negotiated as QEMU would: our library, our CLI and a raw
// socket client at once, 1,000 interleaved commands each, every reply to its own client and every
// event to all. A client that sends garbage or leaves mid-command disturbs nobody; a holder killed
// with SIGKILL makes its clients fail at once with ConnectionClosedError.
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { ConnectionClosedError } from '../src/internal.js';
import { connect } from '../src/connect.js';
import { extraMonitorArgs, finished, runCli, startCli, waitForLine } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { onJsonLines } from './helpers/json-lines.js';

/** A raw QMP client: lines in, lines out, nothing of ours in between. */
function rawClient(socketPath: string): {
  lines: Array<Record<string, unknown>>;
  send(message: unknown): void;
  raw(text: string): void;
  waitFor(test: (m: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  socket: net.Socket;
} {
  const socket = net.connect(socketPath);
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ test: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }> = [];
  onJsonLines(socket, (message) => {
    lines.push(message);
    for (const w of waiters.filter((x) => x.test(message))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(message);
    }
  });
  socket.on('error', () => {});
  return {
    lines,
    socket,
    send: (message) => socket.write(`${JSON.stringify(message)}\n`),
    raw: (text) => socket.write(text),
    waitFor: (test, ms = 15_000) => {
      const found = lines.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching message within ${ms} ms; got ${JSON.stringify(lines.slice(-3))}`)), ms);
        waiters.push({
          test,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
  };
}

t.test('share: three kinds of client at once', async (t) => {
  const dir = tempDir(t);
  const upstream = path.join(dir, 'cli.sock');
  const shared = path.join(dir, 'shared.sock');
  const { client: direct } = await startQemu(t, { dir, args: extraMonitorArgs(upstream) });
  const trace = path.join(dir, 'share.jsonl');
  const holder = startCli(['share', '--listen', shared, '--socket', upstream, '--trace', trace]);
  t.teardown(() => holder.kill('SIGKILL'));
  const done = finished(holder, 60_000);
  await waitForLine(holder, (line) => line.startsWith('Sharing '));
  t.equal(statSync(shared).mode & 0o777, 0o600, 'the shared socket is mode 0600: only its owner may connect');
  t.comment(
    "QEMU's Python qemu.qmp client is not installed on this machine (not packaged for Debian 12): skipped; the raw client below speaks the same protocol",
  );

  const raw = rawClient(shared);
  const greeting = await raw.waitFor((m) => 'QMP' in m);
  t.match(
    greeting,
    { QMP: { version: { qemu: direct.greeting.QMP.version.qemu }, capabilities: [] } },
    "greeted with the upstream QEMU's version, no OOB (not negotiated upstream)",
  );
  raw.send({ execute: 'query-status', id: 'early' });
  t.match(
    await raw.waitFor((m) => m.id === 'early'),
    { error: { class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" } },
    'commands before negotiation are refused as QEMU refuses them',
  );
  raw.send({ execute: 'qmp_capabilities', id: 'neg' });
  t.same((await raw.waitFor((m) => m.id === 'neg')).return, {}, 'negotiated');
  const lib = await connect({ path: shared });
  t.teardown(() => lib.close());

  // A garbage client and one that leaves mid-command, while the others work.
  const garbage = rawClient(shared);
  await garbage.waitFor((m) => 'QMP' in m);
  garbage.raw('this is not JSON\n');
  t.match(await garbage.waitFor((m) => 'error' in m), { error: { class: 'GenericError' } }, "garbage gets QEMU's id-less parse error");
  const leaver = rawClient(shared);
  await leaver.waitFor((m) => 'QMP' in m);
  leaver.send({ execute: 'qmp_capabilities' });
  leaver.send({ execute: 'query-block', id: 1 });
  leaver.socket.destroy();

  const libEvents: string[] = [];
  lib.on('event', (e) => libEvents.push(e.event));
  for (let i = 0; i < 1000; i++) raw.send({ execute: i % 2 ? 'query-status' : 'query-version', id: { raw: i } });
  const libResults = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => lib.execute(i % 2 ? 'query-version' : 'query-status').then((r) => [i, r] as const)),
  );
  const cli = await runCli(['qmp', 'query-status', '--socket', shared]);
  t.equal(cli.code, 0, `our CLI works through the share too; stderr: ${cli.stderr}`);
  t.ok('status' in (JSON.parse(cli.stdout) as object), 'and gets the status');
  await raw.waitFor((m) => (m.id as { raw?: number } | undefined)?.raw === 999);
  const rawReplies = raw.lines.filter((m) => typeof m.id === 'object' && m.id !== null && 'raw' in (m.id as object));
  t.equal(rawReplies.length, 1000, 'the raw client got 1,000 replies');
  t.ok(
    rawReplies.every((m) => ((m.id as { raw: number }).raw % 2 ? 'status' in (m.return as object) : 'qemu' in (m.return as object))),
    'each one the answer to its own command',
  );
  t.ok(
    libResults.every(([i, r]) => (i % 2 ? 'qemu' in (r as object) : 'status' in (r as object))),
    'and so did the library client, 1,000 times',
  );

  // Events reach every negotiated client: stop/cont on QEMU's other monitor.
  const cursor = lib.eventCursor();
  await direct.execute('stop');
  await direct.execute('cont');
  await raw.waitFor((m) => m.event === 'RESUME');
  await lib.waitForEvent('RESUME', {}, { since: cursor, timeoutMs: 10_000 });
  t.ok(raw.lines.some((m) => m.event === 'STOP') && libEvents.includes('STOP'), 'STOP and RESUME reached both clients');

  // The holder killed outright: its clients learn at once.
  const pending = lib.execute('query-status', undefined, { timeoutMs: 60_000 }).catch((e: unknown) => e);
  holder.kill('SIGKILL');
  const started = Date.now();
  const lost = await lib.execute('query-status').catch((e: unknown) => e);
  await done;
  t.ok(
    lost instanceof ConnectionClosedError || (await pending) instanceof ConnectionClosedError,
    `a client of a killed holder gets ConnectionClosedError, got ${String(lost)}`,
  );
  t.ok(Date.now() - started < 5000, 'at once');
  raw.socket.destroy();
  garbage.socket.destroy();
  // --trace: the upstream session in FILE, each client's own in FILE.client-N (mode 0600).
  const first = `${trace}.client-1`;
  t.equal(statSync(first).mode & 0o777, 0o600, "a client's trace is mode 0600");
  const recorded = readFileSync(first, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { dir?: string; msg?: Record<string, unknown> });
  t.ok(
    recorded.some((l) => l.dir === 'in' && l.msg && 'QMP' in l.msg) && recorded.some((l) => l.dir === 'out' && l.msg?.execute === 'qmp_capabilities'),
    "it holds that client's greeting and commands, with the client's own ids",
  );
  t.ok(statSync(trace).size > 0, 'and the upstream session is in FILE');
});
