/*
 * `demo` on a real guest: Debian's cloud kernel and a busybox initramfs (built by ci/guest.sh from
 * Debian's packages), ext4 on virtio disk vda, qemu-guest-agent on virtio-serial. The seed
 * procedure: three live snapshots with a file added in the guest through the agent after each, an
 * active commit + pivot while the guest rewrites files, the files read back through the agent, then
 * after power-off fsck.ext4 -fn and every file compared offline (debugfs).
 */
import { demoDiskArgs } from './demo-disk.js';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { resolveCommitRange } from '../block/address.js';
import { resolveDisk } from '../block/chain.js';
import { connectGuestAgent, type GuestAgent } from '../block/guest-agent.js';
import { createSnapshots } from '../block/snapshot.js';
import { connect } from '../connect.js';
import { QmpError } from '../errors.js';
import { CommitJob } from '../jobs/commit.js';
import { createImage } from '../transport/qemu-img.js';
import { QemuProcess } from '../transport/qemu-process.js';
import { isJsonObject } from '../util/json.js';
import type { CliContext } from './context.js';
import { delay, setLongTimeout } from '../util/timers.js';

const execFileAsync = promisify(execFile);

export class GuestDemoFailure extends QmpError {}

/** The guest's kernel + initramfs, or why there is none (then the guest-less demo runs instead). */
export function findGuestKernel(): { dir: string } | { missing: string } {
  const dir = process.env.QMPBJ_GUEST_DIR ?? '/opt/qmpbj/guest';
  // The bundle is dist/cli.cjs in a checkout: ci/guest.sh is beside dist/.
  const script = path.join(path.dirname(process.argv[1] ?? ''), '..', 'ci', 'guest.sh');
  if (existsSync(script)) {
    const built = spawnSync('bash', [script, dir], { encoding: 'utf8', timeout: 300_000 });
    if (built.status !== 0) return { missing: `ci/guest.sh exit ${built.status ?? built.signal}: ${built.stderr.trim().split('\n').at(-1) ?? ''}` };
  }
  if (!existsSync(path.join(dir, 'vmlinuz')) || !existsSync(path.join(dir, 'initrd.img')))
    return { missing: `no guest kernel in ${dir} (and no ci/guest.sh to build it)` };
  for (const tool of ['mkfs.ext4', 'fsck.ext4', 'debugfs']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return { missing: `${tool} is not installed (e2fsprogs)` };
  }
  return { dir };
}

/** guest-exec of `sh -c SCRIPT` with /lib/guest.sh loaded; waits (bounded) for it to exit. */
async function guestSh(agent: GuestAgent, script: string, signal: AbortSignal, timeoutMs = 60_000): Promise<void> {
  const started = await agent.execute('guest-exec', { path: '/bin/sh', arg: ['-c', `. /lib/guest.sh; ${script}`], 'capture-output': true }, { signal });
  const pid = isJsonObject(started) ? started.pid : undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await agent.execute('guest-exec-status', { pid }, { signal });
    if (isJsonObject(status) && status.exited === true) {
      if (status.exitcode !== 0)
        throw new GuestDemoFailure(
          `in the guest, '${script}' exited ${String(status.exitcode)}: ${Buffer.from(String(status['err-data'] ?? ''), 'base64')
            .toString()
            .trim()}`,
        );
      return;
    }
    if (Date.now() > deadline) throw new GuestDemoFailure(`in the guest, '${script}' did not finish within ${timeoutMs} ms`);
    // The agent has no exit notification: poll it, gently.
    await delay(100, signal);
  }
}

async function writeGuestFile(agent: GuestAgent, file: string, data: Buffer, signal: AbortSignal): Promise<void> {
  const handle = await agent.execute('guest-file-open', { path: file, mode: 'w' }, { signal });
  await agent.execute('guest-file-write', { handle, 'buf-b64': data.toString('base64') }, { signal });
  await agent.execute('guest-file-close', { handle }, { signal });
}

async function readGuestFile(agent: GuestAgent, file: string, signal: AbortSignal): Promise<Buffer> {
  const handle = await agent.execute('guest-file-open', { path: file, mode: 'r' }, { signal });
  const parts: Buffer[] = [];
  for (;;) {
    const read = await agent.execute('guest-file-read', { handle, count: 65536 }, { signal });
    if (!isJsonObject(read)) break;
    parts.push(Buffer.from(String(read['buf-b64'] ?? ''), 'base64'));
    if (read.eof === true || read.count === 0) break;
  }
  await agent.execute('guest-file-close', { handle }, { signal });
  return Buffer.concat(parts);
}

export async function runGuestDemo(context: CliContext, dir: string, guestDir: string): Promise<number> {
  const { out, signal } = context;
  let stepStart = Date.now();
  const say = (text: string, object: Record<string, unknown> = {}): void => {
    const ms = Date.now() - stepStart;
    out.result(`${text}  [${(ms / 1000).toFixed(1)} s]`, { type: 'demo', step: text, ms, ...object });
    stepStart = Date.now();
  };
  const file = (name: string): string => path.join(dir, name);
  say(`Working in ${dir} (the seed procedure on a booted Linux guest)`);
  await createImage(file('base.raw'), { format: 'raw', size: '64M' });
  await execFileAsync('mkfs.ext4', ['-q', '-F', file('base.raw')], { timeout: 30_000 });
  say('base.raw: 64 MiB, ext4');

  const qemu = await QemuProcess.start({
    dir,
    machine: 'pc',
    args: [
      '-accel',
      'tcg',
      '-m',
      '256',
      '-no-reboot',
      '-kernel',
      path.join(guestDir, 'vmlinuz'),
      '-initrd',
      path.join(guestDir, 'initrd.img'),
      '-append',
      'console=ttyS0 quiet loglevel=0 panic=-1',
      ...demoDiskArgs(file('base.raw')),
      '-device',
      'virtio-serial-pci',
      '-chardev',
      `socket,id=ga0,path=${file('ga.sock')},server=on,wait=off`,
      '-device',
      'virtserialport,chardev=ga0,name=org.qemu.guest_agent.0',
    ],
  });
  const written = new Map<string, Buffer>();
  try {
    const client = await qemu.failIfExits(connect({ path: qemu.socketPath }, { signal, connectTimeoutMs: 30_000 }));
    let agent: GuestAgent | undefined;
    try {
      const version = await client.execute('query-version');
      say(`Started QEMU ${version.qemu.major}.${version.qemu.minor}.${version.qemu.micro} (pid ${qemu.pid}), Linux booting under TCG`);
      // The agent answers once the guest's init started it: retried until then, within 90 s.
      const deadline = Date.now() + 90_000;
      while (!agent) {
        try {
          agent = await connectGuestAgent({ path: file('ga.sock') }, { timeoutMs: 2000, signal });
        } catch (error) {
          if (Date.now() > deadline || signal.aborted) throw error;
        }
      }
      say('Guest booted, its agent answers');

      for (const name of ['sn1', 'sn2', 'cur']) {
        await createSnapshots(client, [{ disk: 'vda', file: file(`${name}.qcow2`) }], { signal });
        const data = randomBytes(96 * 1024);
        await writeGuestFile(agent, `/mnt/seed-${name}.bin`, data, signal);
        await guestSh(agent, 'sync', signal);
        written.set(`seed-${name}.bin`, data);
        say(`Snapshot: vda now writes into ${name}.qcow2; the guest added /mnt/seed-${name}.bin (96 KiB, synced) through its agent`);
      }
      await guestSh(agent, 'writer 4 128 400 2', signal);
      say('The guest keeps rewriting 4 files (128 KiB each, synced, fstrim every 2nd round)');

      const round = async (): Promise<number> => Number((await readGuestFile(agent!, '/tmp/gen', signal)).toString().trim() || 0);
      const writing = Date.now() + 60_000;
      while ((await round()) < 1) {
        if (Date.now() > writing) throw new GuestDemoFailure("the guest's writer finished no round within 60 s");
        await guestSh(agent, 'sleep 0.2', signal);
      }
      const roundBefore = await round();
      const before = await resolveDisk(client, 'vda', { signal });
      const range = resolveCommitRange(before, {});
      const job = await CommitJob.start(client, range, { signal });
      await job.waitUntilReady({ signal, timeoutMs: 5 * 60_000 });
      // In sync, the guest's writes go to both top and base: the pivot waits for a whole round written then.
      const roundAtReady = await round();
      const inSync = Date.now() + 60_000;
      while ((await round()) <= roundAtReady) {
        if (Date.now() > inSync)
          throw new GuestDemoFailure(
            `the guest's writer finished no round within 60 s of READY (still at round ${roundAtReady}); the job stays READY on the guest's top`,
          );
        await guestSh(agent, 'sleep 0.2', signal);
      }
      const result = await job.pivot({ signal, timeoutMs: 60_000 });
      out.message('Successfully pivoted');
      say(
        `Active commit of sn1, sn2 and cur into base.raw, pivoted after the guest wrote while in sync (its writer at round ${roundBefore} before the commit, ${roundAtReady} at READY, ${await round()} after the pivot; job ${result.states.join(' → ')})`,
      );

      await guestSh(agent, 'writer_stop >/dev/null; dropcaches', signal);
      for (const [name, data] of written) {
        const back = await readGuestFile(agent, `/mnt/${name}`, signal);
        if (!back.equals(data)) throw new GuestDemoFailure(`/mnt/${name} read back through the agent differs from what was written`);
      }
      say(`Read back through the agent, caches dropped: ${written.size} files identical`);
      await guestSh(agent, 'verify_w | grep -q BAD && exit 1; exit 0', signal);
      say('Every rewritten file is whole and of one generation');
      await agent.execute('guest-exec', { path: '/bin/sh', arg: ['-c', '. /lib/guest.sh; off'] }, { signal });
      agent.close();
      agent = undefined;
      const exited = await Promise.race([qemu.exited, new Promise<null>((resolve) => setLongTimeout(() => resolve(null), 60_000).unref())]);
      if (!exited) throw new GuestDemoFailure('the guest did not power off within 60 s');
      say('The guest unmounted /mnt and powered off');
    } finally {
      agent?.close();
      await client.close();
    }
  } finally {
    await qemu.stop();
  }

  await execFileAsync('fsck.ext4', ['-fn', file('base.raw')], { timeout: 60_000 }).catch((error: { stdout?: string }) => {
    throw new GuestDemoFailure(`fsck.ext4 -fn base.raw found problems: ${(error.stdout ?? '').trim()}`);
  });
  for (const [name, data] of written) {
    const { stdout } = await execFileAsync('debugfs', ['-R', `cat /${name}`, file('base.raw')], {
      encoding: 'buffer',
      timeout: 30_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (!stdout.equals(data)) throw new GuestDemoFailure(`${name} in base.raw (read offline with debugfs) differs from what the guest wrote`);
  }
  say(`Verified offline: fsck.ext4 -fn base.raw is clean, and the ${written.size} files in it (debugfs) are what the guest wrote`);
  return 0;
}
