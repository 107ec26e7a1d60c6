import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { QmpClient, type QmpClientOptions } from '../../src/index.js';
import { QemuProcess } from '../../src/transport/qemu-process.js';

/** The repository root, from dist/test/helpers or test/helpers alike. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));

export function fixturePath(name: string): string {
  return path.join(repoRoot, 'test', 'fixtures', name);
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
  options: { args?: string[]; machine?: string; dir?: string; client?: QmpClientOptions; storageDaemon?: boolean } = {},
): Promise<StartedQemu> {
  const dir = options.dir ?? tempDir(t);
  const qemu = await QemuProcess.start({ dir, args: options.args ?? [], machine: options.machine ?? 'none', ...(options.storageDaemon ? { storageDaemon: true } : {}) });
  t.teardown(async () => {
    qemu.kill('SIGKILL');
    await qemu.exited;
  });
  const client = await qemu.failIfExits(QmpClient.connect({ path: qemu.socketPath }, { connectTimeoutMs: 15_000, ...options.client }));
  t.teardown(() => client.close());
  return { qemu, client, dir };
}
