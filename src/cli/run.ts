import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QmpClient } from '../protocol/client.js';
import { QmpError } from '../protocol/errors.js';
import { QemuProcess } from '../transport/qemu-process.js';

export const VERSION = '0.1.0';

/** Runs the CLI and returns the exit code: 0 success, 1 the operation failed, 2 usage error. */
export async function runCli(argv: string[]): Promise<number> {
  const [command] = argv;
  try {
    switch (command) {
      case '--version':
      case 'version':
        process.stdout.write(`qmp-blockjob ${VERSION}\n`);
        return 0;
      case 'demo':
        return await demo();
      default:
        process.stderr.write(`error: unknown command ${command ?? '(none)'}\nusage: qmp-blockjob demo | --version\n`);
        return 2;
    }
  } catch (error) {
    process.stderr.write(`error: ${error instanceof QmpError ? error.message : String(error)}\n`);
    return 1;
  }
}

async function demo(): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qbj-demo-'));
  const qemu = await QemuProcess.start({ dir });
  try {
    const client = await qemu.failIfExits(QmpClient.connect({ path: qemu.socketPath }));
    const version = await client.execute('query-version');
    process.stdout.write(`QEMU ${version.qemu.major}.${version.qemu.minor}.${version.qemu.micro} ${version.package}\n`);
    process.stdout.write(`block devices: ${JSON.stringify(await client.execute('query-block'))}\n`);
    await client.close();
    return 0;
  } finally {
    await qemu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
