// A command sent the way QEMU's own Python clients send it — compact JSON, no newline after it — and
// the time until its reply arrives: on QEMU's own monitor, and through `share --listen` (another
// process). Issue #24's goal: under 10 ms through share (it used to be never: share split on newlines).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { QemuProcess } from '../src/transport/qemu-process.js';
import { fmt, interleave, repoRoot, report, stats, verdict } from './common.js';

/** A raw client: greeting, negotiation, then `ask()` sends one newline-less command and times its reply. */
async function rawClient(socketPath: string): Promise<{ ask(): Promise<number>; close(): void }> {
  const socket = net.connect(socketPath);
  socket.setNoDelay(true);
  let buffered = '';
  let waiter: ((line: string) => void) | undefined;
  const lines: string[] = [];
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => {
    buffered += text;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w(line);
      } else lines.push(line);
    }
  });
  const next = (): Promise<string> =>
    lines.length
      ? Promise.resolve(lines.shift()!)
      : new Promise((resolve) => {
          waiter = resolve;
        });
  await next();
  socket.write('{"execute":"qmp_capabilities"}');
  await next();
  let id = 0;
  return {
    async ask() {
      const t0 = process.hrtime.bigint();
      socket.write(`{"execute":"query-status","id":${++id}}`);
      const line = await next();
      if (!line.includes(`"id": ${id}`) && !line.includes(`"id":${id}`)) throw new Error(`unexpected reply ${line}`);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    },
    close: () => socket.destroy(),
  };
}

export async function benchShareInput(full: boolean): Promise<void> {
  const rounds = full ? 9 : 5;
  const count = 500;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qbj-bench-'));
  const upstream = path.join(dir, 'up.sock');
  const shared = path.join(dir, 'shared.sock');
  const qemu = await QemuProcess.start({ dir, args: ['-chardev', `socket,id=up,path=${upstream},server=on,wait=off`, '-mon', 'chardev=up,mode=control'] });
  const holder = spawn(process.execPath, [path.join(repoRoot, 'dist', 'cli.cjs'), '--socket', upstream, 'share', '--listen', shared], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('Sharing ') && resolve());
      holder.once('exit', (code) => reject(new Error(`share exited (${code})`)));
    });
    const direct = await rawClient(qemu.socketPath);
    const viaShare = await rawClient(shared);
    const all: Record<'direct' | 'shared', number[]> = { direct: [], shared: [] };
    const perRound = await interleave(rounds, {
      direct: async () => {
        const ms: number[] = [];
        for (let i = 0; i < count; i++) ms.push(await direct.ask());
        all.direct.push(...ms);
        return stats(ms).median;
      },
      shared: async () => {
        const ms: number[] = [];
        for (let i = 0; i < count; i++) ms.push(await viaShare.ask());
        all.shared.push(...ms);
        return stats(ms).median;
      },
    });
    direct.close();
    viaShare.close();
    const p99 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.99)] ?? NaN;
    const worst = (values: number[]): number => Math.max(...values);
    const rows = (['direct', 'shared'] as const).map((name) => {
      const s = stats(perRound[name]!);
      return [
        name === 'direct' ? "QEMU's own monitor" : 'through `share --listen` (another process)',
        fmt(s.median, 3),
        `${fmt(s.min, 3)}–${fmt(s.max, 3)}`,
        fmt(p99(all[name]), 3),
        fmt(worst(all[name]), 3),
      ];
    });
    const sharedP99 = p99(all.shared);
    report(
      'A newline-less command (as qemu.qmp sends it) until its reply',
      `npm run bench -- --only=share-input${full ? ' --full' : ''} (bench/share-input.ts)`,
      ['to', 'ms median (of round medians)', 'min–max', 'p99 of all', 'worst'],
      rows,
      [
        `${count} query-status per round, one at a time, ${rounds} rounds interleaved; a raw socket client sending \`{"execute":"query-status","id":N}\` with no newline.`,
        verdict('a newline-less command answered through share in under 10 ms (p99)', sharedP99 < 10, `${fmt(sharedP99, 3)} ms`),
      ],
    );
  } finally {
    holder.kill('SIGTERM');
    await qemu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
