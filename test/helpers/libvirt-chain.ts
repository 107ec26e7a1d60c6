import path from 'node:path';
import { createImage, qemuIo } from '../../src/transport/qemu-img.js';

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
