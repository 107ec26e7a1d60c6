import path from 'node:path';
import type { Test } from 'tap';
import { extraMonitorArgs, startCli, waitForLine } from './cli.js';
import { startQemu, tempDir } from './qemu.js';
import { connect } from '../../src/connect.js';

/**
 * `qmp-blockjob events --json` on a QEMU with a second monitor, started and listening, plus a client on
 * that second monitor to cause events with (stop/cont).
 */
export async function eventsCliWithTrigger(t: Test) {
  const dir = tempDir(t);
  const second = path.join(dir, 'm2.sock');
  const { qemu, client } = await startQemu(t, { dir, args: extraMonitorArgs(second, 'm2') });
  await client.close();
  const child = startCli(['events', '--json', '--socket', qemu.socketPath]);
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await waitForLine(child, (line) => line.includes('"listening"'));
  const trigger = await connect({ path: second });
  t.teardown(() => trigger.close());
  return { child, trigger, stderr: () => stderr };
}
