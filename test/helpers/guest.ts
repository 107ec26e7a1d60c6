/*
 * A real Linux guest for the tests: Debian's cloud kernel and a busybox initramfs (ci/guest.sh),
 * booted under TCG with ext4 on virtio-blk /dev/vda, orders on the serial console
 * (test/guest/init) and qemu-guest-agent on virtio-serial. Its files are checked twice: inside the
 * guest after dropping caches, and offline in the final image (fsck.ext4 -fn, debugfs).
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { convertImage, createImage } from '../../src/transport/qemu-img.js';
import { repoRoot, startQemu, type StartedQemu } from './qemu.js';

const execFileAsync = promisify(execFile);

export interface GuestKernel {
  vmlinuz: string;
  initrd: string;
}

/**
 * The guest's kernel and initramfs, built on first use (ci/guest.sh) into $QMPBJ_GUEST_DIR or
 * /opt/qmpbj/guest. `null` (and the test skips) only when the packages cannot be had; under
 * CI=true that is a failure instead.
 */
export function guestKernel(t: Test): GuestKernel | null {
  const dir = process.env.QMPBJ_GUEST_DIR ?? '/opt/qmpbj/guest';
  const built = spawnSync('bash', [path.join(repoRoot, 'ci', 'guest.sh'), dir], { encoding: 'utf8', timeout: 300_000 });
  if (built.status === 0 && existsSync(path.join(dir, 'vmlinuz'))) return { vmlinuz: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img') };
  const why = `the guest cannot be built (ci/guest.sh exit ${built.status ?? built.signal}): ${built.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  if (process.env.CI === 'true' || built.status !== 3) t.fail(why);
  else t.pass('the guest tests skip', { skip: why });
  return null;
}

/** A raw disk of `sizeMiB` with an empty ext4 file system (the guest's /dev/vda). */
export async function makeExt4Disk(file: string, sizeMiB = 64): Promise<void> {
  await createImage(file, { format: 'raw', size: `${sizeMiB}M` });
  await execFileAsync('mkfs.ext4', ['-q', '-F', '-E', 'nodiscard', file], { timeout: 30_000 });
}

export interface GuestAnswer {
  status: number;
  lines: string[];
}

/** The serial console: one order at a time, answered between "@@B id" and "@@E id status". */
class Console {
  private buffer = '';
  private lines: string[] = [];
  private waiter: (() => void) | undefined;
  private nextId = 1;
  closed = false;

  constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text.replace(/\r/g, '');
      let nl;
      while ((nl = this.buffer.indexOf('\n')) !== -1) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  /** Waits (bounded) for a line matching `pattern`; returns the lines up to and including it. */
  async until(pattern: RegExp, timeoutMs: number, what: string): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.lines.findIndex((l) => pattern.test(l));
      if (at !== -1) return this.lines.splice(0, at + 1);
      if (this.closed) throw new Error(`guest console closed while waiting for ${what}; last lines: ${this.lines.slice(-5).join(' | ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`guest: no ${what} within ${timeoutMs} ms; last lines: ${this.lines.slice(-5).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  async run(command: string, timeoutMs: number): Promise<GuestAnswer> {
    const id = this.nextId++;
    this.socket.write(`${id} ${command}\n`);
    const got = await this.until(new RegExp(`^@@E ${id} \\d+$`), timeoutMs, `answer to '${command}'`);
    const begin = got.findIndex((l) => l === `@@B ${id}`);
    const end = got[got.length - 1] as string;
    return { status: Number(end.split(' ')[2]), lines: got.slice(begin + 1, -1) };
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface StartGuestOptions {
  /** QEMU arguments that define the disk's nodes; the device is added here on `node`. */
  blockArgs: readonly string[];
  node: string;
  /** qdev id of the disk. Default "vda". */
  id?: string;
  /** false: no agent channel at all (the refusal tests). Default true. */
  agent?: boolean;
  /** A second ext4 disk vdb on this node (its nodes in blockArgs), mounted on /mnt/b in the guest. */
  vdbNode?: string;
}

/** A booted guest: QEMU, its QMP client, its console, the agent socket, and what the tests recorded. */
export class Guest {
  /** path in the guest (under /mnt) → md5 of the content written and synced. */
  readonly recorded = new Map<string, string>();
  bootMs = 0;

  constructor(
    readonly started: StartedQemu,
    private readonly console: Console,
    readonly agentSocket: string | null,
  ) {}

  get client(): StartedQemu['client'] {
    return this.started.client;
  }

  /** Runs an order; a non-zero status fails unless `allowFailure`. */
  async run(command: string, options: { timeoutMs?: number; allowFailure?: boolean } = {}): Promise<GuestAnswer> {
    const answer = await this.console.run(command, options.timeoutMs ?? 60_000);
    if (answer.status !== 0 && !options.allowFailure) throw new Error(`guest: '${command}' exited ${answer.status}: ${answer.lines.join(' | ')}`);
    return answer;
  }

  /** Writes /mnt/NAME with `kib` KiB of random data, synced, and records its checksum. */
  async writeFile(name: string, kib = 64): Promise<string> {
    const answer = await this.run(`seed ${name} ${kib}`);
    const sum = answer.lines.at(-1)?.split(/\s+/)[0];
    if (!sum || !/^[0-9a-f]{32}$/.test(sum)) throw new Error(`guest: no checksum for ${name}: ${answer.lines.join(' | ')}`);
    this.recorded.set(name, sum);
    return sum;
  }

  /** Rewrites w/0..files-1 in the background (each synced, then renamed), `fstrim` every `trimEvery` generations, at most `maxGenerations`. */
  async startWriter(options: { files?: number; kib?: number; maxGenerations?: number; trimEvery?: number } = {}): Promise<void> {
    await this.run(`writer ${options.files ?? 4} ${options.kib ?? 128} ${options.maxGenerations ?? 200} ${options.trimEvery ?? 3}`);
  }

  /** The generation the writer has synced so far. */
  async writerGeneration(): Promise<number> {
    return Number((await this.run('writer_gen')).lines.at(-1));
  }

  /** Waits (bounded) until the writer has synced `generation`: proof the guest wrote while something ran. */
  async writerReaches(generation: number, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await this.writerGeneration();
      if (now >= generation) return now;
      if (Date.now() > deadline) throw new Error(`guest writer stuck at generation ${now}, wanted ${generation}`);
      await this.run('sleep 0.2');
    }
  }

  async stopWriter(): Promise<{ generation: number; trimmedAt: number }> {
    const line = (await this.run('writer_stop')).lines.at(-1) ?? '';
    const m = /^gen (\d+) trimmed (\d+)$/.exec(line);
    if (!m) throw new Error(`guest: writer_stop said '${line}'`);
    return { generation: Number(m[1]), trimmedAt: Number(m[2]) };
  }

  async fstrim(): Promise<void> {
    await this.run('fstrim /mnt');
  }

  /**
   * Drops the guest's caches and reads every file back from the disk: each recorded file has its
   * checksum, and each writer file is whole and of one generation. Returns the writer generations.
   */
  async verifyFiles(t: Test, when: string): Promise<Map<string, number>> {
    await this.run('dropcaches');
    const sums = new Map((await this.run('sums')).lines.map((l) => l.split(/\s+/)).map(([sum, file]) => [(file ?? '').replace(/^\/mnt\//, ''), sum]));
    for (const [name, sum] of this.recorded) t.equal(sums.get(name), sum, `${when}: ${name} read back in the guest has the checksum it was written with`);
    return writerFiles(t, (await this.run('verify_w')).lines, `${when}, in the guest`);
  }

  /** Unmounts and powers off; resolves when QEMU has exited (bounded). */
  async powerOff(): Promise<void> {
    this.console.closed || (await this.console.run('off', 1).catch(() => undefined));
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([this.started.qemu.exited, new Promise<null>((r) => (timer = setTimeout(r, 60_000, null)))]);
    clearTimeout(timer);
    if (!exited) throw new Error('guest did not power off within 60 s');
  }

  close(): void {
    this.console.close();
  }
}

function writerFiles(t: Test, lines: readonly string[], when: string): Map<string, number> {
  const generations = new Map<string, number>();
  for (const line of lines) {
    t.notOk(line.startsWith('BAD'), `${when}: writer file ${line.replace(/^BAD /, '')} is whole and of one generation`);
    const m = /^(w\/\d+) g(\d+)$/.exec(line);
    if (m) generations.set(m[1] as string, Number(m[2]));
  }
  return generations;
}

/** Boots the guest on the disk the block arguments define; waits until its init answers orders. */
export async function startGuest(t: Test, kernel: GuestKernel, dir: string, options: StartGuestOptions): Promise<Guest> {
  const consolePath = path.join(dir, 'con.sock');
  const agentPath = path.join(dir, 'ga.sock');
  const agentArgs =
    options.agent === false
      ? []
      : [
          '-device',
          'virtio-serial-pci,id=vser0',
          '-chardev',
          `socket,id=ga0,path=${agentPath},server=on,wait=off`,
          '-device',
          'virtserialport,chardev=ga0,name=org.qemu.guest_agent.0',
        ];
  const t0 = Date.now();
  const started = await startQemu(t, {
    dir,
    machine: 'pc',
    args: [
      '-accel',
      'tcg',
      '-m',
      '256',
      '-S',
      '-no-reboot',
      '-kernel',
      kernel.vmlinuz,
      '-initrd',
      kernel.initrd,
      '-append',
      `console=ttyS0 quiet loglevel=0 panic=-1${options.vdbNode ? ' qbj.vdb' : ''}`,
      '-chardev',
      `socket,id=con0,path=${consolePath},server=on,wait=off`,
      '-serial',
      'chardev:con0',
      ...options.blockArgs,
      '-device',
      `virtio-blk-pci,id=${options.id ?? 'vda'},drive=${options.node}`,
      ...(options.vdbNode ? ['-device', `virtio-blk-pci,id=vdb,drive=${options.vdbNode}`] : []),
      ...agentArgs,
    ],
  });
  // Stopped (-S) until the console is connected, so nothing the guest prints is lost.
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(consolePath, () => resolve(s));
    s.once('error', reject);
  });
  const console = new Console(socket);
  t.teardown(() => console.close());
  await started.client.execute('cont');
  const ready = await console.until(/^@@(READY|FAIL)/, 90_000, 'boot');
  const last = ready.at(-1) ?? '';
  if (last.startsWith('@@FAIL')) throw new Error(`guest boot: ${last}`);
  const guest = new Guest(started, console, options.agent === false ? null : agentPath);
  guest.bootMs = Date.now() - t0;
  t.comment(`guest booted in ${guest.bootMs} ms (kernel uptime at init's prompt: ${last.split(' ')[1]} s)`);
  return guest;
}

/**
 * The offline checks of a final image (after the guest powered off): `fsck.ext4 -fn` is clean, and
 * every recorded file, read with debugfs, has its checksum; every writer file is whole.
 */
export async function checkImageOffline(
  t: Test,
  image: string,
  guest: Pick<Guest, 'recorded'>,
  format: 'raw' | 'qcow2',
  options: { vdb?: boolean } = {},
): Promise<void> {
  // Files under b/ live on the second disk (/mnt/b): checked in its image, at its root.
  const onThisDisk = [...guest.recorded].flatMap(([name, sum]): Array<[string, string]> => {
    if (options.vdb) return name.startsWith('b/') ? [[name.slice(2), sum]] : [];
    return name.startsWith('b/') ? [] : [[name, sum]];
  });
  let raw = image;
  if (format !== 'raw') {
    raw = `${image}.check.raw`;
    await convertImage(image, raw, 'raw');
  }
  const fsck = await execFileAsync('fsck.ext4', ['-fn', raw], { timeout: 60_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );
  t.equal(fsck.code, 0, `fsck.ext4 -fn ${path.basename(image)} is clean: ${fsck.out.trim().split('\n').slice(-3).join(' | ')}`);
  for (const [name, sum] of onThisDisk) {
    t.equal(md5(await debugfsCat(raw, `/${name}`)), sum, `offline: ${name} in ${path.basename(image)} has the checksum the guest wrote`);
  }
  const listing = await execFileAsync('debugfs', ['-R', 'ls -p /w', raw], { timeout: 30_000, encoding: 'utf8' }).catch(() => ({ stdout: '' }));
  for (const row of listing.stdout.split('\n')) {
    const name = row.split('/')[5];
    if (!name || name === '.' || name === '..' || name.endsWith('.tmp')) continue;
    const data = await debugfsCat(raw, `/w/${name}`);
    const first = data.subarray(0, data.indexOf(0x0a) + 1).toString();
    const whole =
      data.length > 0 && data.length % 1024 === 0 && data.equals(Buffer.from(first.repeat(Math.ceil(data.length / first.length))).subarray(0, data.length));
    t.ok(whole, `offline: writer file w/${name} (${data.length} bytes, '${first.trim()}') is whole and of one generation`);
  }
}

async function debugfsCat(raw: string, file: string): Promise<Buffer> {
  const { stdout } = await execFileAsync('debugfs', ['-R', `cat ${file}`, raw], { timeout: 30_000, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}
