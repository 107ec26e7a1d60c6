import path from 'node:path';
import type { Test } from 'tap';
import { qemuIo, resolveDisk } from '../../src/internal.js';
import { buildSeedChain, expectedView, readChecks, type Layer } from './chain.js';
import { extraMonitorArgs, runCli } from './cli.js';
import { startQemu, tempDir } from './qemu.js';

/**
 * The seed chain (base.raw ← a ← b ← c.qcow2) on -drive drive0, a second monitor for the CLI, and
 * what a copy test asks of it: run the CLI, the live chain, the node names, and a data check of an
 * image after QEMU quit.
 */
export async function copyGuest(t: Test) {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const started = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const run = (...args: string[]) => runCli([...args, '--socket', cli]);
  const chain = async (): Promise<string[]> => (await resolveDisk(started.client, 'drive0')).layers.map((l) => l.file);
  const nodeNames = async (): Promise<string[]> =>
    (await started.client.execute('query-named-block-nodes', { flat: true })).flatMap((n) => n['node-name'] ?? []);
  const quit = async (): Promise<void> => {
    await started.client.execute('quit').catch(() => undefined);
    await started.qemu.exited;
  };
  /** After quit: `image` reads, MiB by MiB, what the guest saw (through `view`, default the seed chain's). */
  const check = async (image: string, format: string, view: Layer[] = layers): Promise<void> => {
    await t.resolves(qemuIo(image, readChecks(expectedView(view)), { format }), `${path.basename(image)} reads exactly what the guest saw`);
  };
  return { ...started, dir, cli, layers, files: layers.map((l) => l.file), run, chain, nodeNames, quit, check };
}
