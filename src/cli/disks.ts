import { findDisk, listDisks } from '../block/chain.js';
import type { DiskChain } from '../block/types.js';
import type { QmpClient } from '../protocol/client.js';
import type { CliContext } from './context.js';

/**
 * The disks as the user names them. Over a socket that is QEMU's own view. With --domain, libvirt's
 * names and indices are laid over it: `vda` is libvirt's target, and `vda[N]` means libvirt's index
 * (from `virsh dumpxml`), so a virsh user's index addresses the same image. When libvirt's view is
 * stale (the chain was changed through QMP, behind libvirt's back), indices fall back to positions,
 * with a warning.
 */
export async function cliDisks(context: CliContext, client: QmpClient): Promise<DiskChain[]> {
  const disks = await listDisks(client, { signal: context.signal });
  const domain = context.global.domain;
  if (!domain) return disks;
  const [{ dumpxml, LibvirtDiskError, parseDomainDisks }, { applyLibvirtIndices }] = await Promise.all([
    import('../transport/libvirt.js'),
    import('../block/libvirt-indices.js'),
  ]);
  const libvirtDisks = parseDomainDisks(await dumpxml(domain, context.global.connect));
  return disks.map((disk) => {
    const libvirtDisk = libvirtDisks.find((d) => d.qdevPath !== undefined && d.qdevPath === disk.qdevPath);
    if (!libvirtDisk) return disk;
    const named: DiskChain = { ...disk, target: libvirtDisk.target };
    try {
      return applyLibvirtIndices(named, libvirtDisk);
    } catch (error) {
      if (!(error instanceof LibvirtDiskError)) throw error;
      context.out.warn(`${libvirtDisk.target}[N] counts positions (base = 1), not libvirt's indices: ${error.message}`);
      return named;
    }
  });
}

/** The disk called `name`, and the others (for "that image belongs to another disk" errors). */
export async function cliDisk(context: CliContext, client: QmpClient, name: string): Promise<{ disk: DiskChain; others: DiskChain[] }> {
  const disks = await cliDisks(context, client);
  const disk = findDisk(disks, name);
  // Messages then say what the user typed ("vda [libvirt-1-format]").
  return { disk: { ...disk, requestedAs: name }, others: disks.filter((d) => d !== disk) };
}

/**
 * Whether libvirt's `dumpxml` still describes every disk's live chain (same images, same order):
 * true after a job libvirt tracks itself (it updates its XML), false after a change made through
 * QMP behind its back.
 */
export async function libvirtViewIsCurrent(context: CliContext, client: QmpClient): Promise<boolean> {
  const domain = context.global.domain;
  if (!domain) return true;
  const [{ dumpxml, parseDomainDisks }, { normalizeImagePath }] = await Promise.all([import('../transport/libvirt.js'), import('../block/libvirt-indices.js')]);
  const [disks, xml] = await Promise.all([listDisks(client, { signal: context.signal }), dumpxml(domain, context.global.connect)]);
  return parseDomainDisks(xml).every((libvirtDisk) => {
    const disk = disks.find((d) => d.qdevPath !== undefined && d.qdevPath === libvirtDisk.qdevPath);
    if (!disk) return libvirtDisk.qdevPath === undefined || libvirtDisk.chain.length === 0;
    const live = disk.layers.map((l) => normalizeImagePath(l.file));
    const known = libvirtDisk.chain.map((i) => normalizeImagePath(i.file));
    return live.length === known.length && live.every((f, i) => f === known[i]);
  });
}
