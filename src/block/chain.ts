/*
 * The live backing chain of each guest disk, read from QEMU's stable queries:
 * `query-block` (disks attached to a device or a -drive) and `query-named-block-nodes` (every
 * named node, including bare -blockdev chains no device uses).
 *
 * Neither query names a node's children. What links them: a node's `backing_file` is the
 * *filename of its live backing node* (not the string recorded in the image), and a filter
 * (throttle, commit_top, mirror_top, …) or a protocol node (file, …) reports the same filename as
 * the image it sits above or below. So the node below X is the one non-filter node whose filename
 * equals X.backing_file, preferring a format node over the protocol node under it. Only when that
 * leaves several candidates (the same file opened twice) do we ask `x-debug-query-block-graph`,
 * an unstable command, for the real edges.
 */
import path from 'node:path';
import type { QmpClient } from '../protocol/client.js';
import { QmpCommandError } from '../errors.js';
import type { BlockDeviceInfo, BlockExportInfo, BlockInfo, XDbgBlockGraph } from '../qapi/types.js';
import { ChainResolutionError, DiskNotFoundError } from './errors.js';
import type { ChainLayer, DiskChain } from './types.js';

/** What the block layer needs from a monitor: QmpClient, or any transport with the same `execute`. */
export type BlockQueryClient = Pick<QmpClient, 'execute' | 'executeUntyped'>;

export interface ChainQueryOptions {
  signal?: AbortSignal | undefined;
  /** Per query. Default: the client's own command timeout. */
  timeoutMs?: number | undefined;
}

/** Drivers that pass I/O through to one child and are no image of their own. */
const FILTER_DRIVERS = new Set([
  'throttle',
  'copy-on-read',
  'commit_top',
  'mirror_top',
  'compress',
  'preallocate',
  'blkdebug',
  'blklogwrites',
  'blkreplay',
  'blkverify',
  'copy-before-write',
  'replication',
  'snapshot-access',
]);

/** Drivers that reach storage: they sit under a format node and report the same filename. */
const PROTOCOL_DRIVERS = new Set([
  'file',
  'host_device',
  'host_cdrom',
  'nbd',
  'nfs',
  'iscsi',
  'iser',
  'rbd',
  'ssh',
  'gluster',
  'http',
  'https',
  'ftp',
  'ftps',
  'null-co',
  'null-aio',
  'nvme',
  'nvme-io_uring',
  'io_uring',
  'virtio-blk-vfio-pci',
  'virtio-blk-vhost-user',
  'virtio-blk-vhost-vdpa',
]);

export function isFilterDriver(driver: string): boolean {
  return FILTER_DRIVERS.has(driver);
}

/** Thrown inside the pure resolver when filenames alone cannot decide; listDisks then asks for the graph. */
class AmbiguousLinkError extends ChainResolutionError {}

interface NamedNode extends BlockDeviceInfo {
  'node-name': string;
}

/** The node-to-node links, either guessed from filenames or read from the block graph. */
interface Links {
  /** The image node right below `node` (filters skipped), or undefined at the bottom. */
  below(node: NamedNode): NamedNode | undefined;
  /** The image node a device's root node (maybe a filter) presents to the guest. */
  activeOf(root: NamedNode, block: BlockInfo): NamedNode;
  /** The image node under `node`, filters skipped (an export's node may be a job's filter). */
  imageUnder(node: NamedNode): NamedNode;
}

function filenameLinks(nodes: readonly NamedNode[]): Links {
  const pick = (candidates: NamedNode[], what: string): NamedNode | undefined => {
    const images = candidates.filter((n) => !PROTOCOL_DRIVERS.has(n.drv));
    const pool = images.length ? images : candidates;
    if (pool.length > 1) {
      throw new AmbiguousLinkError(`${what}: nodes ${pool.map((n) => `'${n['node-name']}'`).join(', ')} all have that file open`);
    }
    return pool[0];
  };
  return {
    below(node) {
      const backing = node.backing_file;
      if (backing === undefined || backing === '') return undefined;
      const candidates = nodes.filter((n) => n !== node && n.file === backing && !isFilterDriver(n.drv));
      const found = pick(candidates, `backing file '${backing}' of node '${node['node-name']}'`);
      if (!found) throw new ChainResolutionError(`node '${node['node-name']}' has backing file '${backing}', but no open node has that file name`);
      return found;
    },
    activeOf(root, block) {
      if (!isFilterDriver(root.drv)) return root;
      // query-block's `image` is mostly taken below the filters: match its file name and format. A
      // backup's copy-before-write filter shows as the image itself (format "copy-before-write",
      // QEMU 7.2 to 11.1): then the file name alone, as for imageUnder.
      const image = block.inserted?.image;
      const anyFormat = image !== undefined && isFilterDriver(image.format);
      const candidates = nodes.filter((n) => image && n.file === image.filename && (anyFormat || n.drv === image.format) && !isFilterDriver(n.drv));
      const found = pick(candidates, `image '${image?.filename ?? '?'}' under filter node '${root['node-name']}'`);
      if (!found) throw new ChainResolutionError(`no image node found under filter node '${root['node-name']}'`);
      return found;
    },
    imageUnder(node) {
      if (!isFilterDriver(node.drv)) return node;
      // A filter reports its child's file name; the image is the one non-filter, non-protocol node with it.
      const candidates = nodes.filter((n) => n.file === node.file && !isFilterDriver(n.drv));
      const found = pick(candidates, `image under filter node '${node['node-name']}'`);
      if (!found) throw new ChainResolutionError(`no image node found under filter node '${node['node-name']}'`);
      return found;
    },
  };
}

function graphLinks(nodes: readonly NamedNode[], graph: XDbgBlockGraph): Links {
  const byName = new Map(nodes.map((n) => [n['node-name'], n]));
  const idOf = new Map(graph.nodes.filter((g) => g.type === 'block-driver').map((g) => [g.name, g.id]));
  const nameOf = new Map(graph.nodes.map((g) => [g.id, g.name]));
  const child = (node: NamedNode, roles: readonly string[]): NamedNode | undefined => {
    const id = idOf.get(node['node-name']);
    const edge = graph.edges.find((e) => e.parent === id && roles.includes(e.name));
    if (!edge) return undefined;
    const name = nameOf.get(edge.child);
    const found = name === undefined ? undefined : byName.get(name);
    if (!found) throw new ChainResolutionError(`block graph: child ${edge.child} of '${node['node-name']}' is not a named node`);
    return found;
  };
  const skipFilters = (node: NamedNode | undefined): NamedNode | undefined => {
    let current = node;
    for (let hops = 0; current && isFilterDriver(current.drv); hops++) {
      if (hops > nodes.length) throw new ChainResolutionError(`block graph: filter loop at '${current['node-name']}'`);
      current = child(current, ['file', 'backing']);
    }
    return current;
  };
  return {
    below: (node) => skipFilters(child(node, ['backing'])),
    activeOf(root) {
      return this.imageUnder(root);
    },
    imageUnder(node) {
      const found = skipFilters(node);
      if (!found) throw new ChainResolutionError(`block graph: no image node under filter node '${node['node-name']}'`);
      return found;
    },
  };
}

/**
 * The real path of an image. With -blockdev (and under libvirt) a format node's filename is a
 * `json:{…}` pseudo-filename describing its whole subtree; the path is in its `file` child.
 */
export function realFileName(node: BlockDeviceInfo, nodes: readonly BlockDeviceInfo[] = []): string {
  return unwrapJsonFilename(node.file, nodes, node);
}

/**
 * The path inside a `json:{"driver":"qcow2","file":{"driver":"file","filename":…}}` pseudo-filename
 * (a plain name comes back as it is). A child given by node name is looked up in `nodes`.
 */
export function unwrapJsonFilename(file: string, nodes: readonly BlockDeviceInfo[] = [], self?: BlockDeviceInfo): string {
  if (!file.startsWith('json:')) return file;
  let spec: unknown;
  try {
    spec = JSON.parse(file.slice('json:'.length));
  } catch {
    return file;
  }
  for (let depth = 0; depth < 16 && spec !== null && typeof spec === 'object'; depth++) {
    const { filename, file: child } = spec as { filename?: unknown; file?: unknown };
    if (typeof filename === 'string') return filename;
    if (typeof child === 'string') {
      // A child given by reference: its own node knows the path (unknown here: the name as libvirt gives it).
      const referenced = nodes.find((n) => n['node-name'] === child);
      if (referenced && referenced !== self) return realFileName(referenced, nodes);
      return self ? file : child;
    }
    spec = child;
  }
  return file;
}

/** "vda" from "/machine/peripheral/vda/virtio-backend"; QEMU versions that report the bare id give it as is. */
function qdevIdOf(qdev: string): string | undefined {
  if (!qdev.startsWith('/')) return qdev || undefined;
  return /^\/machine\/peripheral\/([^/]+)(?:\/|$)/.exec(qdev)?.[1];
}

function buildChain(active: NamedNode, links: Links, nodes: readonly NamedNode[], label: string): ChainLayer[] {
  const topDown: NamedNode[] = [];
  for (let node: NamedNode | undefined = active; node; node = links.below(node)) {
    if (topDown.includes(node)) throw new ChainResolutionError(`backing chain of '${label}' loops at node '${node['node-name']}'`, label);
    topDown.push(node);
  }
  return topDown.reverse().map((node, i) => {
    const layer: ChainLayer = {
      index: i + 1,
      nodeName: node['node-name'],
      file: realFileName(node, nodes),
      format: node.drv,
      virtualSize: node.image['virtual-size'],
    };
    const backing = node.image['backing-filename'];
    if (backing !== undefined) layer.backingFile = backing;
    return layer;
  });
}

/**
 * Pure: the disks described by a `query-block` and a `query-named-block-nodes` reply (and the
 * block graph, when filenames are ambiguous, and `query-block-exports`). Device and -drive disks
 * first, in query-block order, then chains served by an export, then bare -blockdev chains (image
 * nodes that are no other node's backing and that nothing uses) — except those that share an image
 * with a chain in use: such a parentless root is what a pivot or an intermediate commit left behind
 * (libvirt's libvirt-N-format nodes after our pivot, say), not a disk.
 */
export function disksFromQueries(
  blocks: readonly BlockInfo[],
  allNodes: readonly BlockDeviceInfo[],
  graph?: XDbgBlockGraph,
  exports: readonly BlockExportInfo[] = [],
): DiskChain[] {
  const nodes = allNodes.filter((n): n is NamedNode => typeof n['node-name'] === 'string' && n['node-name'] !== '');
  const byName = new Map(nodes.map((n) => [n['node-name'], n]));
  const links = graph ? graphLinks(nodes, graph) : filenameLinks(nodes);
  const disks: DiskChain[] = [];
  const claimed = new Set<string>();

  for (const block of blocks) {
    const rootName = block.inserted?.['node-name'];
    if (!block.inserted || rootName === undefined) continue;
    const root = byName.get(rootName);
    const label = block.device || block.qdev || rootName;
    if (!root) throw new ChainResolutionError(`disk '${label}': root node '${rootName}' is missing from query-named-block-nodes`, label);
    const layers = buildChain(links.activeOf(root, block), links, nodes, label);
    const active = layers[layers.length - 1] as ChainLayer;
    const disk: DiskChain = { device: block.device || active.nodeName, layers };
    if (block.device) disk.driveId = block.device;
    if (block.qdev) {
      const qdevId = qdevIdOf(block.qdev);
      if (qdevId !== undefined) disk.qdevId = qdevId;
      if (block.qdev.startsWith('/')) disk.qdevPath = block.qdev;
    }
    for (const layer of layers) claimed.add(layer.nodeName);
    disks.push(disk);
  }

  for (const exported of exports) {
    const node = byName.get(exported['node-name']);
    if (!node) continue;
    const active = links.imageUnder(node);
    const existing = disks.find((d) => d.layers.at(-1)?.nodeName === active['node-name']);
    if (existing) {
      existing.exports = [...(existing.exports ?? []), exported.id];
      continue;
    }
    const layers = buildChain(active, links, nodes, exported.id);
    for (const layer of layers) claimed.add(layer.nodeName);
    disks.push({ device: active['node-name'], exports: [exported.id], layers });
  }
  const images = nodes.filter((n) => !isFilterDriver(n.drv) && !PROTOCOL_DRIVERS.has(n.drv));
  const isBacking = new Set<string>();
  for (const node of images) {
    const below = links.below(node);
    if (below) isBacking.add(below['node-name']);
  }
  // QEMU lists nodes newest first; sort the bare chains by name so the order does not depend on that.
  const roots = images.filter((n) => !isBacking.has(n['node-name']) && !claimed.has(n['node-name']));
  roots.sort((a, b) => a['node-name'].localeCompare(b['node-name'], 'en', { numeric: true }));
  for (const node of roots) {
    const layers = buildChain(node, links, nodes, node['node-name']);
    // A parentless chain that shares images with a chain in use is what a pivot or an intermediate
    // commit left behind (its nodes stay open until blockdev-del): no disk of its own.
    if (layers.some((l) => claimed.has(l.nodeName))) continue;
    disks.push({ device: node['node-name'], layers });
  }
  return disks;
}

/** query-block-exports, or none where QEMU lacks it (it came with 5.2) or a mock does not answer it. */
async function queryExports(
  client: BlockQueryClient,
  options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
): Promise<BlockExportInfo[]> {
  try {
    return await client.execute('query-block-exports', undefined, options);
  } catch (error) {
    if (error instanceof QmpCommandError && error.errorClass === 'CommandNotFound') return [];
    throw error;
  }
}

/** Every guest disk (and bare -blockdev chain) with its live backing chain, base first. */
export async function listDisks(client: BlockQueryClient, options: ChainQueryOptions = {}): Promise<DiskChain[]> {
  const commandOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const [blocks, nodes, exports] = await Promise.all([
    client.execute('query-block', undefined, commandOptions),
    client.execute('query-named-block-nodes', { flat: true }, commandOptions),
    queryExports(client, commandOptions),
  ]);
  try {
    return disksFromQueries(blocks, nodes, undefined, exports);
  } catch (error) {
    if (!(error instanceof AmbiguousLinkError)) throw error;
    // The same file is open in two nodes: only the graph's edges can tell them apart.
    // Blocks and nodes are re-read with it so all of them describe the same moment.
    const [graph, blocksAgain, nodesAgain, exportsAgain] = await Promise.all([
      client.execute('x-debug-query-block-graph', undefined, commandOptions),
      client.execute('query-block', undefined, commandOptions),
      client.execute('query-named-block-nodes', { flat: true }, commandOptions),
      queryExports(client, commandOptions),
    ]);
    return disksFromQueries(blocksAgain, nodesAgain, graph, exportsAgain);
  }
}

/** The name a disk is best known by: libvirt target, qdev id, drive id, export id, else active node name. */
export function diskLabel(disk: DiskChain): string {
  return disk.target ?? disk.qdevId ?? disk.driveId ?? disk.exports?.[0] ?? disk.device;
}

/**
 * The disk as the user named it, then what QEMU calls it in brackets when that differs:
 * "vda [libvirt-1-format]". For messages.
 */
export function describeDisk(disk: DiskChain): string {
  const name = disk.requestedAs ?? diskLabel(disk);
  return name === disk.device ? name : `${name} [${disk.device}]`;
}

/** Every name that designates this disk, most specific first. */
export function diskNames(disk: DiskChain): string[] {
  return [...new Set(rankedNames(disk).filter((n): n is string => n !== undefined && n !== ''))];
}

/** The names a disk answers to, in order of precedence (a slot may be empty). */
function rankedNames(disk: DiskChain): Array<string | undefined> {
  const active = disk.layers[disk.layers.length - 1];
  return [
    disk.target,
    disk.qdevId,
    disk.qdevPath,
    disk.qdevPath?.replace(/\/virtio-backend$/, ''),
    disk.driveId,
    ...(disk.exports ?? []),
    disk.device,
    active?.nodeName,
    // virsh also takes the disk's source: the active image's path.
    active?.file,
    active && path.isAbsolute(active.file) ? path.normalize(active.file) : undefined,
  ];
}

/** The disk called `name` among `disks`, or DiskNotFoundError listing the known ones. */
export function findDisk(disks: readonly DiskChain[], name: string): DiskChain {
  const spelled = path.isAbsolute(name) ? path.normalize(name) : name;
  // Target and qdev ids win over drive ids over node names over paths, should two disks share a spelling.
  const ranked = disks.map((disk) => ({ disk, names: rankedNames(disk) }));
  const ranks = Math.max(0, ...ranked.map((r) => r.names.length));
  for (let rank = 0; rank < ranks; rank++) {
    const found = ranked.find((r) => r.names[rank] === name || r.names[rank] === spelled);
    if (found) return found.disk;
  }
  const owner = disks.find((disk) => disk.layers.some((l) => l.nodeName === name || l.file === name || l.file === spelled || path.basename(l.file) === name));
  const hint = owner ? `it is an image in the chain of disk '${diskLabel(owner)}', not a disk` : undefined;
  throw new DiskNotFoundError(name, disks.map(diskLabel), hint);
}

/** The live chain of one disk, by qdev id, QOM path, drive id, export id, active node name or active image path. */
export async function resolveDisk(client: BlockQueryClient, name: string, options: ChainQueryOptions = {}): Promise<DiskChain> {
  return findDisk(await listDisks(client, options), name);
}

/** Whether something would follow a pivot of this chain: a guest device, a -drive backend or an export. */
export function hasUser(disk: DiskChain): boolean {
  return Boolean(disk.driveId || disk.qdevPath || disk.exports?.length);
}

/** `old` in a fresh listing: by what a chain change keeps (guest device, drive, export), else by its active node. */
export function findSameDisk(disks: readonly DiskChain[], old: DiskChain): DiskChain | undefined {
  return (
    disks.find(
      (d) =>
        (old.qdevPath !== undefined && d.qdevPath === old.qdevPath) ||
        (old.driveId !== undefined && d.driveId === old.driveId) ||
        (old.exports?.some((id) => d.exports?.includes(id)) ?? false),
    ) ?? disks.find((d) => d.layers.at(-1)?.nodeName === old.layers.at(-1)?.nodeName)
  );
}
