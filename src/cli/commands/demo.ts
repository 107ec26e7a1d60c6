import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QmpClient } from '../../protocol/client.js';
import { QemuProcess } from '../../transport/qemu-process.js';
import type { CommandSpec } from '../context.js';

export const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'run the seed procedure live on a throwaway QEMU it starts itself, then clean up',
  usage: 'demo [--keep]',
  examples: ['qmp-blockjob demo', 'qmp-blockjob demo --json'],
  options: { keep: { type: 'boolean' } },
  async run(context) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qbj-demo-'));
    const qemu = await QemuProcess.start({ dir });
    try {
      const client = await qemu.failIfExits(QmpClient.connect({ path: qemu.socketPath }, { signal: context.signal }));
      const version = await client.execute('query-version');
      context.out.result(`QEMU ${version.qemu.major}.${version.qemu.minor}.${version.qemu.micro} ${version.package}`, { type: 'version', ...version });
      await client.close();
      return 0;
    } finally {
      await qemu.stop();
      if (context.values.keep !== true) rmSync(dir, { recursive: true, force: true });
    }
  },
};
