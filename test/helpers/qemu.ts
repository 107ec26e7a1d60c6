import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { ConnectError, ConnectionClosedError, QmpClient, type QmpClientOptions } from '../../src/internal.js';
import { QemuProcess } from '../../src/transport/qemu-process.js';
import { connect } from '../../src/connect.js';

/** The repository root, from dist/test/helpers or test/helpers alike. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));

const fixturesRoot = path.join(repoRoot, 'test', 'fixtures');

/**
 * The fixture sets: one folder per QEMU that recorded them with `npm run record-fixtures`
 * (test/fixtures/qemu-7.2, test/fixtures/qemu-10.0, …), oldest QEMU first.
 */
export function fixtureSets(): string[] {
  const version = (set: string): number[] => set.slice('qemu-'.length).split('.').map(Number);
  return readdirSync(fixturesRoot)
    .filter((d) => /^qemu-\d+\.\d+$/.test(d))
    .sort((a, b) => {
      const [x, y] = [version(a), version(b)];
      return x[0]! - y[0]! || x[1]! - y[1]!;
    });
}

/** A fixture of one set (default: the oldest QEMU's); `''` for the set's folder. */
export function fixturePath(name: string, set: string = fixtureSets()[0] ?? 'qemu-7.2'): string {
  return path.join(fixturesRoot, set, name);
}

/** A short temporary folder (socket paths must stay under 108 bytes), removed after the test. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qbj-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface StartedQemu {
  qemu: QemuProcess;
  client: QmpClient;
  dir: string;
}

/**
 * Starts qemu-system-x86_64 (-machine none unless told otherwise; or qemu-storage-daemon) with the given arguments,
 * connects a QmpClient, and registers teardown: client closed, QEMU killed.
 */
export async function startQemu(
  t: Test,
  options: { args?: string[]; machine?: string; dir?: string; client?: QmpClientOptions; storageDaemon?: boolean; compat?: string } = {},
): Promise<StartedQemu> {
  const dir = options.dir ?? tempDir(t);
  const qemu = await QemuProcess.start({
    dir,
    args: options.args ?? [],
    machine: options.machine ?? 'none',
    ...(options.storageDaemon ? { storageDaemon: true } : {}),
    ...(options.compat !== undefined ? { compat: options.compat } : {}),
  });
  t.teardown(async () => {
    qemu.kill('SIGKILL');
    await qemu.exited;
  });
  const open = (): Promise<QmpClient> => qemu.failIfExits(connect({ path: qemu.socketPath }, { connectTimeoutMs: 15_000, ...options.client }));
  // Seen once in CI on QEMU 7.2 (a full run, the system stack): a QEMU just started accepted the first
  // connection and closed it before greeting, then kept running. The test is about what comes after, so
  // its setup connects once more; a second close before the greeting fails the test as before.
  const client = await open().catch((error: unknown) => {
    if (error instanceof ConnectError && error.cause instanceof ConnectionClosedError) return open();
    throw error;
  });
  t.teardown(() => client.close());
  return { qemu, client, dir };
}
