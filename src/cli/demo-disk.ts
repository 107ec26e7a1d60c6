// The demo's one disk, in both its forms (booted guest or not): base.raw as vda, a raw node named base.
export function demoDiskArgs(baseRaw: string): string[] {
  return [
    '-blockdev',
    JSON.stringify({ driver: 'file', filename: baseRaw, 'node-name': 'base-file' }),
    '-blockdev',
    JSON.stringify({ driver: 'raw', file: 'base-file', 'node-name': 'base' }),
    '-device',
    'virtio-blk-pci,id=vda,drive=base',
  ];
}
