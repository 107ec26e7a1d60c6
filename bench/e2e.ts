// End to end, the seed procedure: base.raw ← a ← b ← c (active), active commit + pivot, whole-process wall
// time of our CLI, `virsh blockcommit --active --pivot` on a real libvirtd, a minimal raw-socket script
// (the floor for a live commit) and offline `qemu-img commit` (the floor for copying), interleaved, a
// fresh copy of the chain for every run. The controller's own cost is the wall time minus QEMU's job
// time taken from QEMU's event timestamps (JOB_STATUS_CHANGE created → BLOCK_JOB_COMPLETED).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { QemuProcess } from '../src/transport/qemu-process.js';
import { fmt, interleave, loadNote, report, repoRoot, stats, verdict } from './common.js';
import { RawQmp, type RawMessage } from './raw-qmp.js';
import { testDomainXml } from '../test/helpers/libvirt.js';

const run = promisify(execFile);
const VIRSH = ['-c', 'qemu:///system'];

export interface Layer {
  file: string;
  format: 'raw' | 'qcow2';
  offsetMiB: number;
  dataMiB: number;
  pattern: number;
}

/** The issue's chain: data sizes 64/128/128/256 MiB, in disjoint regions so each layer's bytes are checkable. */
export function seedLayers(scale: number): Layer[] {
  const sizes = [64, 128, 128, 256].map((s) => s / scale);
  let offset = 0;
  return ['base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2'].map((file, i) => {
    const layer: Layer = { file, format: i === 0 ? 'raw' : 'qcow2', offsetMiB: offset, dataMiB: sizes[i]!, pattern: 0x10 + i };
    offset += sizes[i]!;
    return layer;
  });
}

export function buildTemplate(dir: string, layers: Layer[]): void {
  mkdirSync(dir, { recursive: true });
  layers.forEach((layer, i) => {
    const file = path.join(dir, layer.file);
    if (i === 0) execFileSync('qemu-img', ['create', '-q', '-f', 'raw', file, '1G']);
    else execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', layers[i - 1]!.file, '-F', layers[i - 1]!.format, file]);
    execFileSync('qemu-io', ['-f', layer.format, '-c', `write -P ${layer.pattern} ${layer.offsetMiB}M ${layer.dataMiB}M`, file], { stdio: 'ignore' });
  });
}

/** A fresh copy of the chain (relative backing links, so the copy stands alone). */
export function freshChain(template: string, dir: string, layers: Layer[]): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('cp', ['--reflink=auto', '--sparse=always', ...layers.map((l) => path.join(template, l.file)), dir]);
}

/** After the commit, base.raw alone must hold every layer's data. */
export async function verifyBase(dir: string, layers: Layer[], what: string): Promise<void> {
  const checks = layers.flatMap((l) => ['-c', `read -P ${l.pattern} ${l.offsetMiB}M ${l.dataMiB}M`]);
  const { stdout } = await run('qemu-io', ['-r', '-f', 'raw', ...checks, path.join(dir, 'base.raw')]);
  if (/Pattern verification failed|error/i.test(stdout)) throw new Error(`${what}: base.raw does not hold the merged data: ${stdout}`);
}

/** Wall time (ms) of one process, from spawn to exit. */
export function timeProcess(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let stderr = '';
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

const seconds = (m: RawMessage): number => (m.timestamp ? m.timestamp.seconds + m.timestamp.microseconds / 1e6 : NaN);

/** QEMU's own job time from its event stream: JOB_STATUS_CHANGE created → BLOCK_JOB_COMPLETED, in ms. */
export function jobTimeMs(events: RawMessage[]): number {
  const created = events.find((e) => e.event === 'JOB_STATUS_CHANGE' && e.data?.status === 'created');
  const completed = events.find((e) => e.event === 'BLOCK_JOB_COMPLETED');
  if (!created || !completed) throw new Error(`no job start/end among the events: ${events.map((e) => e.event).join(', ')}`);
  if (completed.data?.error) throw new Error(`the job failed: ${String(completed.data.error)}`);
  return (seconds(completed) - seconds(created)) * 1000;
}

/** A second QMP monitor on the same QEMU that records every event (QEMU sends events to all monitors). */
async function observe(socketPath: string): Promise<{ events: RawMessage[]; close: () => void }> {
  const client = await RawQmp.connect(socketPath);
  const events: RawMessage[] = [];
  client.onMessage = (m) => {
    if (m.event) events.push(m);
  };
  return { events, close: () => client.close() };
}

export function observerArgs(socketPath: string): string[] {
  return ['-chardev', `socket,id=observer,path=${socketPath},server=on,wait=off`, '-mon', 'chardev=observer,mode=control'];
}

/** The same guest for our CLI and the raw script as libvirt's: machine pc under TCG, virtio disk vda. */
export async function startGuest(dir: string, extraArgs: readonly string[] = []): Promise<QemuProcess> {
  const top = JSON.stringify({ driver: 'qcow2', 'node-name': 'vda-top', file: { driver: 'file', filename: path.join(dir, 'c.qcow2') } });
  return QemuProcess.start({
    dir,
    machine: 'pc',
    // -S: the vCPU stays stopped (libvirt's guest is suspended too), so a booting TCG guest does not compete for the 2 cores.
    args: [
      '-S',
      '-accel',
      'tcg',
      '-m',
      '64',
      '-blockdev',
      top,
      '-device',
      'virtio-blk-pci,id=vda,drive=vda-top',
      ...observerArgs(path.join(dir, 'observer.sock')),
      ...extraArgs,
    ],
  });
}

/** Brings libvirtd up with ci/libvirt-up.sh (idempotent); the reason it cannot, else undefined. */
export async function libvirtUnavailable(state: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/usr/bin/virsh')) return 'virsh is not installed';
  try {
    await run('bash', [path.join(repoRoot, 'ci', 'libvirt-up.sh')], {
      env: { ...process.env, QMPBJ_LIBVIRT_STATE: state, QMPBJ_APT_LOCK_WAIT: '30' },
      timeout: 120_000,
    });
    return undefined;
  } catch (error) {
    return `ci/libvirt-up.sh failed: ${((error as { stderr?: string }).stderr ?? String(error)).trim().split('\n').pop()}`;
  }
}

/** One live commit on a fresh QEMU made from `template` in `dir`: the wall time of `spawnCommit` (ms), and
 *  QEMU's own job time read by `jobTime` after BLOCK_JOB_COMPLETED reached the observer; base is then verified. */
export async function timedLiveCommit(
  opts: { template: string; dir: string; layers: ReturnType<typeof seedLayers>; name: string },
  spawnCommit: (socket: string) => Promise<number>,
  jobTime: (events: RawMessage[]) => number,
): Promise<{ wall: number; jobMs: number }> {
  const { template, dir, layers, name } = opts;
  freshChain(template, dir, layers);
  const qemu = await startGuest(dir);
  try {
    const observer = await qemu.failIfExits(connectRetrying(path.join(dir, 'observer.sock')));
    const wall = await spawnCommit(qemu.socketPath);
    await waitFor(() => observer.events.some((e) => e.event === 'BLOCK_JOB_COMPLETED'), 5000, `${name}: BLOCK_JOB_COMPLETED on the observer`);
    const jobMs = jobTime(observer.events);
    observer.close();
    await qemu.stop();
    await verifyBase(dir, layers, name);
    return { wall, jobMs };
  } finally {
    await qemu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchE2e(full: boolean): Promise<void> {
  const scale = full ? 1 : 8;
  const rounds = full ? 9 : 5;
  const layers = seedLayers(scale);
  const work = mkdtempSync(path.join(os.tmpdir(), 'qbj-bench-e2e-'));
  const state = path.join(work, 'libvirt-state');
  const template = path.join(work, 'template');
  const cli = path.join(repoRoot, 'dist', 'cli.cjs');
  const rawScript = path.join(repoRoot, 'dist', 'bench', 'raw-commit.js');
  buildTemplate(template, layers);
  const noLibvirt = await libvirtUnavailable(state);
  const failures: string[] = [];
  const jobMs: Record<string, number[]> = { ours: [], raw: [], virsh: [] };
  let runNo = 0;

  /** A live commit on a fresh QEMU: timed from spawning `command` to its exit; job time from `events`. */
  const live = async (
    name: 'ours' | 'raw',
    args: (dir: string, socket: string) => string[],
    jobTime: (dir: string, events: RawMessage[]) => number,
  ): Promise<number> => {
    const dir = path.join(work, `run-${runNo++}`);
    const run = await timedLiveCommit(
      { template, dir, layers, name },
      (socket) => timeProcess(process.execPath, args(dir, socket)),
      (events) => jobTime(dir, events),
    );
    jobMs[name]!.push(run.jobMs);
    return run.wall;
  };

  const variants: Record<string, () => Promise<number>> = {
    'node -e 0 (start-up)': () => timeProcess(process.execPath, ['-e', '0']),
    'raw-socket script': () =>
      live(
        'raw',
        (_dir, socket) => [rawScript, socket, 'vda-top', 'commit-vda'],
        (_dir, events) => jobTimeMs(events),
      ),
    'qmp-blockjob CLI (ours)': () =>
      live(
        'ours',
        (dir, socket) => [cli, '--socket', socket, '--trace', path.join(dir, 'trace.jsonl'), 'commit', 'vda', '--active', '--pivot'],
        (dir) =>
          jobTimeMs(
            readFileSync(path.join(dir, 'trace.jsonl'), 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => (JSON.parse(l) as { msg?: RawMessage }).msg ?? {}),
          ),
      ),
    'qemu-img commit (offline)': async () => {
      const dir = path.join(work, `run-${runNo++}`);
      freshChain(template, dir, layers);
      try {
        const wall = await timeProcess('qemu-img', ['commit', '-q', '-b', path.join(dir, 'base.raw'), path.join(dir, 'c.qcow2')]);
        await verifyBase(dir, layers, 'qemu-img commit');
        return wall;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  if (!noLibvirt) {
    variants['virsh blockcommit'] = async () => {
      const dir = path.join(work, `run-${runNo++}`);
      freshChain(template, dir, layers);
      const name = `qbj-bench-${process.pid}-${runNo}`;
      const xml = path.join(dir, 'domain.xml');
      writeFileSync(xml, testDomainXml({ name, disk: path.join(dir, 'c.qcow2'), format: 'qcow2', qemuArgs: observerArgs(path.join(dir, 'observer.sock')) }));
      await run('virsh', [...VIRSH, 'create', xml]);
      try {
        await run('virsh', [...VIRSH, 'suspend', name]);
        const observer = await connectRetrying(path.join(dir, 'observer.sock'));
        const wall = await timeProcess('virsh', [...VIRSH, 'blockcommit', name, 'vda', '--active', '--pivot']);
        await waitFor(() => observer.events.some((e) => e.event === 'BLOCK_JOB_COMPLETED'), 5000, 'virsh: BLOCK_JOB_COMPLETED on the observer');
        jobMs.virsh!.push(jobTimeMs(observer.events));
        observer.close();
        return wall;
      } finally {
        await run('virsh', [...VIRSH, 'destroy', name]).catch((e: Error) => failures.push(`virsh destroy ${name}: ${e.message}`));
        await verifyBase(dir, layers, 'virsh').finally(() => rmSync(dir, { recursive: true, force: true }));
      }
    };
  }

  let samples: Record<string, number[]>;
  try {
    samples = await interleave(rounds, variants);
  } finally {
    if (!noLibvirt) await run('bash', [path.join(repoRoot, 'ci', 'libvirt-down.sh')], { env: { ...process.env, QMPBJ_LIBVIRT_STATE: state } }).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }

  const median = (name: string): number => stats(samples[name] ?? []).median;
  const node = median('node -e 0 (start-up)');
  const raw = median('raw-socket script');
  const rows: string[][] = [];
  const overheads: Record<string, number> = {};
  for (const [name, values] of Object.entries(samples)) {
    const s = stats(values);
    const key = name.startsWith('qmp') ? 'ours' : name.startsWith('raw') ? 'raw' : name.startsWith('virsh') ? 'virsh' : undefined;
    const job = key ? stats(jobMs[key]!) : undefined;
    const over = key ? stats(values.map((wall, i) => wall - (jobMs[key]![i] ?? NaN))) : undefined;
    if (key && over) overheads[key] = over.median;
    rows.push([
      name,
      fmt(s.median, 0),
      `${fmt(s.min, 0)}–${fmt(s.max, 0)}`,
      job ? fmt(job.median, 0) : '–',
      over ? `${fmt(over.median, 0)} (${fmt(over.min, 0)}–${fmt(over.max, 0)})` : '–',
      fmt(s.median / raw, 2),
    ]);
  }
  if (noLibvirt) rows.push(['virsh blockcommit', 'skipped', '', '', '', '']);
  const ours = median('qmp-blockjob CLI (ours)');
  const virsh = samples['virsh blockcommit'] ? median('virsh blockcommit') : NaN;
  const dataMiB = layers.reduce((sum, l) => sum + l.dataMiB, 0);
  report(
    'End to end: the seed procedure (active commit + pivot)',
    `npm run bench${full ? ' -- --full' : ''} (bench/e2e.ts)`,
    ['variant', 'wall ms median', 'min–max', 'QEMU job ms median', 'overhead ms = wall − job, median (min–max)', '× raw script'],
    rows,
    [
      `Chain base.raw (1 GiB virtual) ← a ← b ← c (active) with ${layers.map((l) => `${l.dataMiB}`).join('/')} MiB of data (${dataMiB} MiB in all${full ? ", the issue's sizes" : `; the short run scales the issue's 64/128/128/256 MiB down by ${scale}, --full uses them`}). ${rounds} rounds, variants interleaved, a fresh copy of the chain per run (cp --reflink=auto; preparation not timed); base.raw checked with qemu-io read -P after every run.`,
      "Live variants run on the same guest: -machine pc under TCG, 64 MiB, vCPU stopped (-S; libvirt's domain suspended), virtio-blk-pci vda, plus a second QMP monitor that only records events (libvirt adds it through <qemu:commandline>). Our CLI: `node dist/cli.cjs --socket S --trace T commit vda --active --pivot`; the raw script: bench/raw-commit.ts (node, net.Socket, no library); virsh: `virsh blockcommit NAME vda --active --pivot` through libvirtd.",
      'QEMU job time: JOB_STATUS_CHANGE "created" → BLOCK_JOB_COMPLETED from QEMU\'s own event timestamps (ours: from the --trace file; raw and virsh: from the second monitor).',
      noLibvirt ? `virsh row skipped: ${noLibvirt}.` : '',
      failures.length ? `Clean-up problems: ${failures.join('; ')}.` : '',
      loadNote(),
      verdict('ours ≤ 1.1 × raw script (wall)', ours <= 1.1 * raw, `${fmt(ours / raw, 2)} ×`),
      verdict(
        'ours below virsh (wall)',
        Number.isFinite(virsh) ? ours < virsh : false,
        Number.isFinite(virsh) ? `${fmt(ours, 0)} vs ${fmt(virsh, 0)} ms` : 'virsh not measured',
      ),
      verdict(
        'overhead ≤ 50 ms + node start-up',
        (overheads.ours ?? NaN) <= 50 + node,
        `${fmt(overheads.ours ?? NaN, 0)} ms vs ${fmt(50 + node, 0)} ms (node -e 0: ${fmt(node, 0)} ms)`,
      ),
    ].filter(Boolean),
  );
}

export async function connectRetrying(socketPath: string): Promise<{ events: RawMessage[]; close: () => void }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await observe(socketPath);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
