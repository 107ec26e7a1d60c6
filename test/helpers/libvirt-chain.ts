import path from 'node:path';
import type { Test } from 'tap';
import { createImage, qemuIo } from '../../src/transport/qemu-img.js';
import { buildSeedChain, type Layer } from './chain.js';
import { createDomain, type TestDomain } from './libvirt.js';

/**
 * base.qcow2 <- top.qcow2 (16 MiB), the smallest chain a libvirt domain can start on. With `withData`,
 * base holds 0x41 at 0–4 MiB and top 0x42 at 2–6 MiB (prepared offline: HMP qemu-io cannot write to a
 * disk a virtio device holds without going through that device).
 */
export async function twoImageChain(dir: string, withData = false): Promise<{ base: string; top: string }> {
  const base = path.join(dir, 'base.qcow2');
  const top = path.join(dir, 'top.qcow2');
  await createImage(base, { format: 'qcow2', size: '16M' });
  if (withData) await qemuIo(base, ['write -P 0x41 0 4M'], { format: 'qcow2' });
  await createImage(top, { format: 'qcow2', backing: base, backingFormat: 'qcow2' });
  if (withData) await qemuIo(top, ['write -P 0x42 2M 4M'], { format: 'qcow2' });
  return { base, top };
}

/**
 * A libvirt guest whose vda already had the seed chain (base.raw <- a <- b <- c, built by qemu-img)
 * when it started — the common case. libvirt numbers such a chain from the top: c=1 … base=4.
 */
export async function seedChainDomain(t: Test, dir: string): Promise<{ domain: TestDomain; layers: Layer[]; files: [string, string, string, string] }> {
  const layers = await buildSeedChain(dir);
  const domain = await createDomain(t, { disk: layers[3]!.file, format: 'qcow2' });
  return { domain, layers, files: layers.map((l) => l.file) as [string, string, string, string] };
}
