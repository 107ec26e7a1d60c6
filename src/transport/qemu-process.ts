import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ConnectError } from '../errors.js';
import { setLongTimeout } from '../util/timers.js';

export interface QemuLaunchOptions {
  /** Folder for the monitor socket (keep it short: UNIX socket paths are limited to 107 bytes). */
  dir: string;
  /** Extra arguments after the defaults (-nodefaults -display none -machine … -qmp …). */
  args?: readonly string[] | undefined;
  /** Default "none": no guest hardware at all, the fastest QEMU that still runs block jobs. */
  machine?: string | undefined;
  binary?: string | undefined;
  /** Monitor socket file name inside `dir`. Default "qmp.sock". */
  socketName?: string | undefined;
  /**
   * Start qemu-storage-daemon instead (binary default "qemu-storage-daemon"): no machine, the
   * monitor given as --chardev + --monitor, `args` in its own --blockdev/--export/--nbd-server syntax.
   */
  storageDaemon?: boolean | undefined;
  /**
   * QEMU's deprecation policy, passed as `-compat` (e.g. "deprecated-input=reject,deprecated-output=hide").
   * Default: the environment variable QMPBJ_QEMU_COMPAT (CI sets it on its newest stack); "" for none.
   * Not passed to qemu-storage-daemon, which has no such option (11.1: "unrecognized option '--compat'").
   */
  compat?: string | undefined;
}

/** The `-compat` setting the environment asks for (QMPBJ_QEMU_COMPAT), or undefined. */
export function qemuCompatFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.QMPBJ_QEMU_COMPAT?.trim();
  return value ? value : undefined;
}

export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_LIMIT = 64 * 1024;

/**
 * A qemu-system (or qemu-storage-daemon) process with a QMP monitor on a UNIX socket. Used by `demo`, the tests and the
 * benchmarks; the monitor itself is reached with connect({ path: socketPath }).
 */
export class QemuProcess {
  readonly socketPath: string;
  readonly pid: number;
  /** Settles when the process exits, however it exits. */
  readonly exited: Promise<QemuExit>;
  private readonly child: ChildProcess;
  private stderrText = '';
  private exitValue: QemuExit | undefined;

  private constructor(child: ChildProcess, socketPath: string) {
    this.child = child;
    this.socketPath = socketPath;
    this.pid = child.pid ?? -1;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      if (this.stderrText.length < STDERR_LIMIT) this.stderrText += text.slice(0, STDERR_LIMIT - this.stderrText.length);
    });
    // If this process dies (uncaught error, EPIPE on a closed stdout), QEMU must not outlive it.
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        process.off('exit', killOnExit);
        this.exitValue = { code, signal };
        resolve(this.exitValue);
      });
    });
  }

  static start(options: QemuLaunchOptions): Promise<QemuProcess> {
    const socketPath = path.join(options.dir, options.socketName ?? 'qmp.sock');
    const compat = options.compat ?? qemuCompatFromEnv();
    const args = options.storageDaemon
      ? ['--chardev', `socket,id=qmp0,path=${socketPath},server=on,wait=off`, '--monitor', 'chardev=qmp0', ...(options.args ?? [])]
      : [
          '-nodefaults',
          '-display',
          'none',
          '-machine',
          options.machine ?? 'none',
          '-qmp',
          `unix:${socketPath},server=on,wait=off`,
          ...(compat ? ['-compat', compat] : []),
          ...(options.args ?? []),
        ];
    const binary = options.binary ?? (options.storageDaemon ? 'qemu-storage-daemon' : 'qemu-system-x86_64');
    return new Promise((resolve, reject) => {
      const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child.once('error', (error) => reject(new ConnectError(binary, `cannot start ${binary}: ${error.message}`, { cause: error })));
      child.once('spawn', () => resolve(new QemuProcess(child, socketPath)));
    });
  }

  /** What QEMU wrote to stderr (first 64 KiB). */
  get stderr(): string {
    return this.stderrText;
  }

  get exitStatus(): QemuExit | undefined {
    return this.exitValue;
  }

  /**
   * Rejects if QEMU exits before `until` settles: race it with a connect so a QEMU that refused its
   * arguments gives its own error message at once instead of a connect timeout.
   */
  async failIfExits<T>(until: Promise<T>): Promise<T> {
    const exited = this.exited.then((exit): never => {
      throw new ConnectError(
        this.socketPath,
        `QEMU exited (${exit.signal ?? `code ${exit.code}`}) before its monitor answered: ${this.stderrText.trim() || 'no message'}`,
      );
    });
    // The loser of the race must not surface later as an unhandled rejection.
    exited.catch(() => {});
    return Promise.race([until, exited]);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.exitValue === undefined) this.child.kill(signal);
  }

  /** Ends QEMU: SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves on exit. */
  async stop(graceMs = 2000): Promise<QemuExit> {
    if (this.exitValue) return this.exitValue;
    this.child.kill('SIGTERM');
    const timer = setLongTimeout(() => this.child.kill('SIGKILL'), Math.max(1, graceMs));
    try {
      return await this.exited;
    } finally {
      timer.clear();
    }
  }
}

/** The first line of `qemu-system-x86_64 --version`, e.g. "QEMU emulator version 7.2.22 (Debian …)". */
export function qemuVersionLine(binary = 'qemu-system-x86_64'): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 }).split('\n')[0] ?? '';
}
