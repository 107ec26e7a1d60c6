import path from 'node:path';
import { createImage } from '../../src/transport/qemu-img.js';

/** base.qcow2 <- top.qcow2 (16 MiB), the smallest chain a libvirt domain can start on. */
export async function twoImageChain(dir: string): Promise<{ base: string; top: string }> {
  const base = path.join(dir, 'base.qcow2');
  const top = path.join(dir, 'top.qcow2');
  await createImage(base, { format: 'qcow2', size: '16M' });
  await createImage(top, { format: 'qcow2', backing: base, backingFormat: 'qcow2' });
  return { base, top };
}
