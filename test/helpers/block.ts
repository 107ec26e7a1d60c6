import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import type { DiskChain } from '../../src/block/index.js';
import type { QmpClient } from '../../src/internal.js';
import { imageChain } from '../../src/transport/qemu-img.js';
import type { Layer } from './chain.js';

const execFileAsync = promisify(execFile);

/**
 * Asserts that `disk` has exactly the images of `files` (base first), each with the index, format,
 * recorded backing string and size that `qemu-img info --backing-chain` reads from the files.
 */
export async function expectChainMatchesImages(t: Test, disk: DiskChain, files: readonly string[]): Promise<void> {
  const top = files[files.length - 1] as string;
  const onDisk = (await imageChain(top, { forceShare: true })).reverse();
  t.same(
    disk.layers.map((l) => l.file),
    files,
    `disk ${disk.device}: layer files, base first`,
  );
  t.same(
    disk.layers.map((l) => l.index),
    files.map((_, i) => i + 1),
    `disk ${disk.device}: indices 1 (base) to ${files.length} (active)`,
  );
  disk.layers.forEach((layer, i) => {
    const image = onDisk[i];
    t.equal(layer.format, image?.format, `layer [${layer.index}] format should be what qemu-img reads`);
    t.equal(layer.backingFile, image?.['backing-filename'], `layer [${layer.index}] backing string should be as written in the image`);
    t.equal(layer.virtualSize, image?.['virtual-size'], `layer [${layer.index}] virtual size should be the image's`);
  });
}

/**
 * HMP `qemu-io` on a node, drive or (path starting with "/") guest device. An HMP failure comes back
 * as a successful QMP reply whose text says so: that is turned into an exception here.
 */
export async function hmpQemuIo(client: QmpClient, target: string, command: string): Promise<void> {
  const line = `qemu-io ${target.startsWith('/') ? '-d ' : ''}${target} "${command}"`;
  const reply = await client.execute('human-monitor-command', { 'command-line': line }, { timeoutMs: 20_000 });
  if (/^Error:|Permission conflict|failed|not found|unknown/im.test(reply)) throw new Error(`HMP ${line} failed: ${reply.trim()}`);
}

/**
 * Rewrites each overlay's backing string to the bare file name of the image below (as libvirt's and
 * many users' chains are: "base.raw" rather than "/tmp/…/base.raw"). Data is untouched (rebase -u).
 */
export async function makeBackingStringsRelative(layers: readonly Layer[]): Promise<void> {
  for (let i = 1; i < layers.length; i++) {
    const below = layers[i - 1] as Layer;
    await execFileAsync('qemu-img', ['rebase', '-u', '-b', path.basename(below.file), '-F', below.format, (layers[i] as Layer).file], { timeout: 30_000 });
  }
}

/**
 * qemu-io read checks on an image a running QEMU holds (-r -U). `image` may be a json:{…} spec, e.g.
 * to cut the backing off. Throws when a pattern check fails (qemu-io itself exits 0 then).
 */
export async function readChecksPass(image: string, commands: readonly string[]): Promise<void> {
  const args = ['-r', '-U', ...commands.flatMap((c) => ['-c', c]), image];
  const { stdout, stderr } = await execFileAsync('qemu-io', args, { timeout: 30_000 });
  if (/Pattern verification failed|failed|error/i.test(stdout + stderr)) throw new Error(`qemu-io ${args.join(' ')}: ${stdout}${stderr}`);
}
