// libvirt's vda[N] indices, read from the live dumpxml, map onto QEMU's chain exactly as libvirt numbers it.
import path from 'node:path';
import t from 'tap';
import type { ChainLayer, DiskChain } from '../src/block/types.js';
import type { QmpClient } from '../src/internal.js';
import { domblklist, dumpxml, libvirtDiskIndices, LibvirtDiskError, parseDomainDisks } from '../src/transport/libvirt.js';
import { applyLibvirtIndices } from '../src/block/libvirt-indices.js';
import { unwrapJsonFilename as plainFileName } from '../src/block/chain.js';
import { connect } from '../src/connect.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI, virsh } from './helpers/libvirt.js';
import { twoImageChain } from './helpers/libvirt-chain.js';
import { tempDir } from './helpers/qemu.js';

interface NodeInfo {
  'node-name'?: string;
  drv: string;
  file: string;
  image: { filename: string; 'virtual-size': number; 'backing-filename'?: string };
}

/** The disk's chain as QEMU has it, base first, numbered 1.. by depth (what the block layer starts from). */
async function qemuChain(client: QmpClient): Promise<DiskChain> {
  const blocks = await client.execute('query-block');
  const disk = blocks[0];
  const nodes = (await client.execute('query-named-block-nodes', { flat: true })) as unknown as NodeInfo[];
  const layers: ChainLayer[] = [];
  let image = disk?.inserted?.image as ({ filename: string } & Record<string, unknown>) | undefined;
  let node = disk?.inserted?.['node-name'];
  while (image && node) {
    const info = nodes.find((n) => n['node-name'] === node);
    layers.unshift({ index: 0, nodeName: node, file: image.filename, format: info?.drv ?? '?', virtualSize: Number(image['virtual-size']) });
    const backing = image['backing-image'] as ({ filename: string } & Record<string, unknown>) | undefined;
    // libvirt names the backing node libvirt-N-format; find it by the file its -storage child opened.
    node = backing
      ? nodes.find((n) => n['node-name']?.endsWith('-format') && plainFileName(n.file) === plainFileName(backing.filename))?.['node-name']
      : undefined;
    image = backing;
  }
  layers.forEach((layer, i) => {
    layer.index = i + 1;
  });
  return { device: disk?.inserted?.['node-name'] ?? '', qdevPath: disk?.qdev, layers };
}

if (await libvirtOrSkip(t)) {
  t.test('after two libvirt snapshots vda reads [2] base, [1] top, [3] s1, [4] s2, and QMP node names agree', async (t) => {
    const dir = tempDir(t);
    const { base, top } = await twoImageChain(dir);
    const domain = await createDomain(t, { disk: top });
    for (const name of ['s1', 's2']) {
      await virsh(
        'snapshot-create-as',
        '--domain',
        domain.name,
        '--name',
        name,
        '--diskspec',
        `vda,file=${path.join(dir, `${name}.qcow2`)}`,
        '--disk-only',
        '--atomic',
        '--no-metadata',
      );
    }
    const xml = await dumpxml(domain.name, LIBVIRT_URI);
    const disk = await libvirtDiskIndices(domain.name, LIBVIRT_URI, 'vda');
    t.same(parseDomainDisks(xml), [disk], 'the parser should read the same disk from the captured XML');
    t.equal(disk.alias, 'virtio-disk0', 'alias');
    t.equal(disk.qdevPath, '/machine/peripheral/virtio-disk0/virtio-backend', 'qdev path');
    t.same(
      disk.chain,
      [
        { index: 2, file: base, format: 'qcow2' },
        { index: 1, file: top, format: 'qcow2' },
        { index: 3, file: path.join(dir, 's1.qcow2'), format: 'qcow2' },
        { index: 4, file: path.join(dir, 's2.qcow2'), format: 'qcow2' },
      ],
      "the chain, base first, with libvirt's own (non-depth) indices",
    );
    t.same([...(await domblklist(domain.name, LIBVIRT_URI))], [['vda', path.join(dir, 's2.qcow2')]], 'domblklist maps vda to the active image');

    const client = await connect({ domain: domain.name, uri: LIBVIRT_URI, connectTimeoutMs: 20_000 });
    t.teardown(() => client.close());
    const chain = await qemuChain(client);
    t.equal(chain.qdevPath, disk.qdevPath, "QEMU's qdev path should be the one derived from libvirt's alias");
    t.same(
      chain.layers.map((l) => l.index),
      [1, 2, 3, 4],
      'QEMU chain starts numbered by depth',
    );
    const indexed = applyLibvirtIndices(chain, disk);
    t.same(
      indexed.layers.map((l) => l.index),
      [2, 1, 3, 4],
      "applyLibvirtIndices should give libvirt's numbers",
    );
    for (const layer of indexed.layers) {
      t.equal(layer.nodeName, `libvirt-${layer.index}-format`, `vda[${layer.index}] should be QEMU node libvirt-${layer.index}-format`);
    }
    t.same(
      chain.layers.map((l) => l.index),
      [1, 2, 3, 4],
      'the input chain should not be modified',
    );

    // A snapshot taken behind libvirt's back leaves its view stale: the mapping refuses to guess.
    await client.execute('blockdev-snapshot-sync', {
      'node-name': 'libvirt-4-format',
      'snapshot-file': path.join(dir, 'q.qcow2'),
      'snapshot-node-name': 'qbj-q',
      format: 'qcow2',
    });
    const stale = await libvirtDiskIndices(domain.name, LIBVIRT_URI, 'vda');
    const grown = await qemuChain(client);
    let thrown: unknown;
    try {
      applyLibvirtIndices(grown, stale);
    } catch (e) {
      thrown = e;
    }
    t.ok(thrown instanceof LibvirtDiskError, 'a layer libvirt does not know should be a LibvirtDiskError');
    t.match((thrown as Error).message, /qbj-q/, 'the error should name the unknown layer');
  });
}
