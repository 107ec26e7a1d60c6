// Reaction latency: from BLOCK_JOB_READY arriving on the socket to job-complete being written, for
// our CommitJob (waitUntilReady → pivot) and for a minimal raw-socket client, measured at the socket by a
// byte-forwarding proxy in a separate process (bench/line-proxy.ts says why), interleaved in one run
// against one QEMU (-machine none) holding a fresh small chain per commit.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveCommitRange } from '../src/block/address.js';
import { resolveDisk } from '../src/block/chain.js';
import { CommitJob } from '../src/jobs/commit.js';
import { QemuProcess } from '../src/transport/qemu-process.js';
import { fmt, interleave, loadNote, report, stats, verdict } from './common.js';
import type { ProxyReport, ProxyRoute } from './line-proxy.js';
import { RawQmp } from './raw-qmp.js';
import { connect } from '../src/connect.js';

const DATA_MIB = Number(process.env.QBJ_REACTION_MIB ?? 0.25);
const here = path.dirname(fileURLToPath(import.meta.url));

/** A template chain: base.raw (2 MiB) ← top.qcow2 with 256 KiB of data. */
export function makeTemplateChain(dir: string): { base: string; top: string } {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, 'base.raw');
  const top = path.join(dir, 'top.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', base, `${Math.max(2, DATA_MIB)}M`]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', top]);
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x5a 0 ${DATA_MIB * 1024}k`, top], { stdio: 'ignore' });
  return { base, top };
}

/**
 * Copies the template into `dir` and returns the -drive args of one disk: drive id `vd<i>`, top node
 * `t<i>`, base node `b<i>`. A -drive, not a bare -blockdev chain: pivoting a chain that nothing uses
 * switches no one, and QEMU keeps the old top node (its chain stays base ← top).
 */
export function chainCopyArgs(template: { base: string; top: string }, dir: string, i: number): string[] {
  mkdirSync(dir, { recursive: true });
  copyFileSync(template.base, path.join(dir, 'base.raw'));
  copyFileSync(template.top, path.join(dir, 'top.qcow2'));
  return ['-drive', `if=none,id=vd${i},node-name=t${i},file=${path.join(dir, 'top.qcow2')},backing.node-name=b${i}`];
}

function startProxy(routes: ProxyRoute[]): Promise<ChildProcess> {
  const child = fork(path.join(here, 'line-proxy.js'), [JSON.stringify(routes)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`line proxy exited (${code}) before listening`)));
    child.once('message', () => resolve(child));
  });
}

export async function benchReaction(full: boolean): Promise<void> {
  const runs = full ? 300 : 100;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qbj-bench-reaction-'));
  const template = makeTemplateChain(path.join(dir, 'template'));
  const args: string[] = [];
  for (let i = 0; i < 2 * runs; i++) args.push(...chainCopyArgs(template, path.join(dir, `c${i}`), i));
  const routes: ProxyRoute[] = [];
  for (const name of ['raw', 'ours']) {
    const target = path.join(dir, `${name}-qemu.sock`);
    args.push('-chardev', `socket,id=${name},path=${target},server=on,wait=off`, '-mon', `chardev=${name},mode=control`);
    routes.push({ listen: path.join(dir, `${name}.sock`), target });
  }
  const qemu = await QemuProcess.start({ dir, args });
  let proxy: ChildProcess | undefined;
  try {
    // Wait for QEMU's monitor before the clients go through the proxy.
    await (await qemu.failIfExits(connect({ path: qemu.socketPath }))).close();
    proxy = await startProxy(routes);
    const waiting = new Map<string, (latencyUs: number) => void>();
    proxy.on('message', (m: ProxyReport) => waiting.get(m.job)?.(m.latencyUs));
    const atSocket = (job: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no proxy report for ${job} within 10 s`)), 10_000);
        waiting.set(job, (us) => {
          clearTimeout(timer);
          waiting.delete(job);
          resolve(us);
        });
      });

    // In-library view for ours: READY's arrival in client.on('event') → job-complete in the traffic hook.
    const readySeen = new Map<string, bigint>();
    const inLibrary: number[] = [];
    const ours = await connect(
      { path: routes[1]!.listen },
      {
        traffic: (direction, message) => {
          if (direction !== 'out') return;
          const m = message as { execute?: string; arguments?: { device?: string; id?: string } };
          // The complete command as the job sends it: job-complete (id), or block-job-complete (device) where the schema chose it.
          const completing = m.execute === 'job-complete' ? m.arguments?.id : m.execute === 'block-job-complete' ? m.arguments?.device : undefined;
          const ready = completing ? readySeen.get(completing) : undefined;
          if (ready !== undefined) inLibrary.push(Number(process.hrtime.bigint() - ready) / 1e3);
        },
      },
    );
    ours.on('event', (e) => {
      const job = e.event === 'BLOCK_JOB_READY' ? e.data?.device : e.event === 'JOB_STATUS_CHANGE' && e.data?.status === 'ready' ? e.data.id : undefined;
      if (job !== undefined && !readySeen.has(String(job))) readySeen.set(String(job), process.hrtime.bigint());
    });
    const raw = await RawQmp.connect(routes[0]!.listen);
    let next = 0;
    const samples = await interleave(runs, {
      raw: async () => {
        const i = next++;
        const job = `raw${i}`;
        const measured = atSocket(job);
        await raw.activeCommit(`t${i}`, job);
        return measured;
      },
      ours: async () => {
        const i = next++;
        const job = `ours${i}`;
        const measured = atSocket(job);
        const range = resolveCommitRange(await resolveDisk(ours, `t${i}`), {});
        const commit = await CommitJob.start(ours, range, { jobId: job });
        await commit.waitUntilReady({ timeoutMs: 30_000 });
        const result = await commit.pivot({ timeoutMs: 30_000 });
        if (result.outcome !== 'pivoted') throw new Error(`${job} ended ${result.outcome}, expected pivoted`);
        return measured;
      },
    });
    raw.close();
    await ours.close();

    const rawStats = stats(samples.raw!);
    const ourStats = stats(samples.ours!);
    const libStats = stats(inLibrary);
    const row = (name: string, s: ReturnType<typeof stats>): string[] => [
      name,
      String(s.n),
      fmt(s.p50 / 1e3, 3),
      fmt(s.p99 / 1e3, 3),
      fmt(s.max / 1e3, 3),
      fmt(s.min / 1e3, 3),
    ];
    report(
      'Reaction latency: BLOCK_JOB_READY in → job-complete out',
      `npm run bench${full ? ' -- --full' : ''} (bench/reaction.ts)`,
      ['client', 'commits', 'p50 ms', 'p99 ms', 'max ms', 'min ms'],
      [
        row('raw net.Socket client, at the socket', rawStats),
        row('CommitJob waitUntilReady → pivot (ours), at the socket', ourStats),
        row('ours, inside the process (event emitted → traffic hook)', libStats),
      ],
      [
        `${runs} active commits per client (-drive base.raw 2 MiB ← top.qcow2 with 256 KiB of data, -machine none, one QEMU, a fresh chain per commit), raw/ours interleaved.`,
        "Measured at the socket by a byte-forwarding proxy in its own process (bench/line-proxy.ts): the READY line passing QEMU → client and the job-complete line passing client → QEMU, each stamped with process.hrtime as its chunk arrives; the proxy hop is inside both rows alike. A separate process so the stamps do not wait behind the measured client's JavaScript.",
        `ours p50 − raw p50 = ${fmt((ourStats.p50 - rawStats.p50) / 1e3, 3)} ms. ${loadNote()}`,
        verdict('p99 (ours, at the socket) ≤ 1 ms', ourStats.p99 <= 1000, `${fmt(ourStats.p99 / 1e3, 3)} ms`),
      ],
    );
  } finally {
    proxy?.kill();
    await qemu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
