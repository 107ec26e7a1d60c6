// A command through a shared connection (another process's `qmp-blockjob share`) against the same
// command on a connection of its own, interleaved in one run against the same QEMU. Goal: ≤ 1.2 ×.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../src/connect.js';
import { QemuProcess } from '../src/transport/qemu-process.js';
import { fmt, interleave, repoRoot, report, stats, verdict } from './common.js';

/** A byte pipe from one client to one monitor, no parsing: what one more process on the way costs at least. */
const PIPE_SOURCE = `const net = require('node:net'); const [up, at] = process.argv.slice(1);
net.createServer((c) => { const u = net.connect(up); c.pipe(u); u.pipe(c); c.on('error', () => {}); u.on('error', () => {}); }).listen(at, () => console.log('ready'));`;

async function perCommand(call: () => Promise<unknown>, count: number, inFlight: number): Promise<number> {
  let issued = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (issued < count) {
        issued++;
        await call();
      }
    }),
  );
  return Number(process.hrtime.bigint() - start) / 1e3 / count;
}

export async function benchShare(full: boolean): Promise<void> {
  const count = 2000;
  const rounds = full ? 9 : 5;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qbj-bench-'));
  const upstream = path.join(dir, 'up.sock');
  const shared = path.join(dir, 'shared.sock');
  const pipeMonitor = path.join(dir, 'pipe-up.sock');
  const qemu = await QemuProcess.start({
    dir,
    args: [
      '-chardev',
      `socket,id=up,path=${upstream},server=on,wait=off`,
      '-mon',
      'chardev=up,mode=control',
      '-chardev',
      `socket,id=pipe,path=${pipeMonitor},server=on,wait=off`,
      '-mon',
      'chardev=pipe,mode=control',
    ],
  });
  const holder = spawn(process.execPath, [path.join(repoRoot, 'dist', 'cli.cjs'), '--socket', upstream, 'share', '--listen', shared], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The floor of any share: a process that only pipes bytes between one client and a third monitor.
  const piped = path.join(dir, 'piped.sock');
  const pipe = spawn(process.execPath, ['-e', PIPE_SOURCE, pipeMonitor, piped], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const direct = await qemu.failIfExits(connect({ path: qemu.socketPath }));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('Sharing ') && resolve());
      holder.once('exit', (code) => reject(new Error(`share exited (${code})`)));
    });
    const viaShare = await connect({ path: shared });
    await new Promise<void>((resolve) => pipe.stdout.once('data', () => resolve()));
    const viaPipe = await connect({ path: piped });
    const rows: string[][] = [];
    const ratios: number[] = [];
    const pipeRatios: number[] = [];
    for (const inFlight of [1, 100]) {
      const perRound = await interleave(rounds, {
        direct: () => perCommand(() => direct.execute('query-status'), count, inFlight),
        shared: () => perCommand(() => viaShare.execute('query-status'), count, inFlight),
        pipe: () => perCommand(() => viaPipe.execute('query-status'), count, inFlight),
      });
      const base = stats(perRound.direct!).median;
      const label = {
        direct: 'own connection',
        shared: 'through `share` (another process)',
        pipe: 'baseline: through a byte pipe (another process, no parsing)',
      };
      for (const name of ['direct', 'shared', 'pipe'] as const) {
        const s = stats(perRound[name]!);
        rows.push([
          inFlight === 1 ? 'sequential' : `${inFlight} in flight`,
          label[name],
          fmt(s.median, 1),
          `${fmt(s.min, 1)}–${fmt(s.max, 1)}`,
          fmt(s.median / base, 3),
        ]);
      }
      ratios.push(stats(perRound.shared!).median / base);
      pipeRatios.push(stats(perRound.shared!).median / stats(perRound.pipe!).median);
    }
    await viaShare.close();
    await viaPipe.close();
    await direct.close();
    // The user's case: a whole `qmp-blockjob jobs` from a second terminal, through the holder's
    // automatic share of its --socket, against the same command on a monitor nobody holds.
    const cli = path.join(repoRoot, 'dist', 'cli.cjs');
    const run = (socket: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        execFile(process.execPath, [cli, 'jobs', '--socket', socket], (error) => (error ? reject(error) : resolve(Number(process.hrtime.bigint() - t0) / 1e6)));
      });
    const cliRounds = await interleave(full ? 21 : 11, { direct: () => run(qemu.socketPath), shared: () => run(upstream) });
    const cliBase = stats(cliRounds.direct!).median;
    for (const name of ['direct', 'shared'] as const) {
      const s = stats(cliRounds[name]!);
      rows.push([
        '`qmp-blockjob jobs`, whole process',
        name === 'direct' ? 'own connection' : "through the holder's automatic share",
        fmt(s.median * 1000, 0),
        `${fmt(s.min * 1000, 0)}–${fmt(s.max * 1000, 0)}`,
        fmt(s.median / cliBase, 3),
      ]);
    }
    const cliRatio = stats(cliRounds.shared!).median / cliBase;
    const [sequential = Infinity, batched = Infinity] = ratios;
    const [overPipe = Infinity] = pipeRatios;
    report(
      'A command through a shared connection (query-status against real QEMU)',
      `npm run bench${full ? ' -- --full' : ''} (bench/share.ts)`,
      ['mode', 'client', 'µs/command median', 'min–max', '× own connection'],
      rows,
      [
        `${count} commands per round, ${rounds} rounds interleaved; QmpClient on every side; one QEMU (-machine none) with a monitor for each.`,
        'The byte pipe is the floor of any share in another process: one more hop, with nothing parsed.',
        // The goal is about the commands users run from a second terminal: judged on those.
        verdict(
          'a command from another terminal (a whole `qmp-blockjob jobs`) through the automatic share ≤ 1.2 × with its own connection',
          cliRatio <= 1.2,
          `${fmt(cliRatio, 3)} ×`,
        ),
        verdict('QMP commands in flight together through a share ≤ 1.2 × an own connection', batched <= 1.2, `${fmt(batched, 3)} ×`),
        `A lone QMP round trip through a share: ${fmt(sequential, 3)} × an own connection, ${fmt(overPipe, 3)} × the byte pipe — what one more process hop costs on this machine, not the share's parsing.`,
      ],
    );
  } finally {
    holder.kill('SIGTERM');
    pipe.kill('SIGTERM');
    await qemu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
