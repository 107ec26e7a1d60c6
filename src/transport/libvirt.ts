import { QmpError } from '../errors.js';
import { runVirsh, type VirshTarget } from './virsh/exec.js';

/*
 * What libvirt knows about a domain's disks, read through virsh (argument vectors, no shell).
 * Under libvirt, QEMU's -blockdev node names are `libvirt-N-format` and query-block's `device` is
 * empty; the N is libvirt's per-image `index`, which is also what `vda[N]` means in virsh. That
 * index is NOT a depth: libvirt numbers the chain top-down at start (top=1, its backing=2, …) and
 * each later snapshot gets the next unused number, so after three snapshots a chain reads
 * (base first) 2, 1, 3, 4, 5 — see docs/libvirt.md.
 */

/** An image of a disk chain as libvirt describes it. */
export interface LibvirtImage {
  /** libvirt's `index` attribute (vda[index]); undefined when libvirt gave none (inactive XML). */
  index: number | undefined;
  /** The image path (`source file=`/`dev=`), or the network volume name. */
  file: string;
  /** Format driver (qcow2, raw, …), when libvirt states it. */
  format: string | undefined;
}

export interface LibvirtDisk {
  /** Guest target name, e.g. "vda". */
  target: string;
  /** Target bus, e.g. "virtio". */
  bus: string | undefined;
  /** libvirt's device alias = QEMU's qdev id, e.g. "virtio-disk0". */
  alias: string | undefined;
  /**
   * The QOM path QEMU reports as query-block's `qdev` and that HMP `qemu-io -d` accepts:
   * /machine/peripheral/<alias>/virtio-backend for virtio disks, /machine/peripheral/<alias> otherwise.
   */
  qdevPath: string | undefined;
  /** The chain, base first (the last entry is the active image). */
  chain: LibvirtImage[];
}

/** libvirt's description does not fit the request or QEMU's chain. */
export class LibvirtDiskError extends QmpError {}

// ------------------------------------------------------------------ virsh queries

/** `virsh domblklist DOMAIN`: guest target → source path (undefined for an empty drive, "-"). */
export async function domblklist(domain: string, uri?: string, target: VirshTarget = {}): Promise<Map<string, string | undefined>> {
  const { stdout } = await runVirsh({ ...target, uri: uri ?? target.uri }, ['domblklist', '--domain', domain]);
  return parseDomblklist(stdout);
}

/** Parses `virsh domblklist` output (LC_ALL=C): a header, a dashed rule, then " target   source" rows. */
export function parseDomblklist(output: string): Map<string, string | undefined> {
  const result = new Map<string, string | undefined>();
  const lines = output.split('\n');
  const rule = lines.findIndex((line) => /^-{3,}\s*$/.test(line));
  for (const line of lines.slice(rule + 1)) {
    const row = /^\s*(\S+)\s+(.*?)\s*$/.exec(line);
    if (!row || !row[1]) continue;
    const source = row[2] ?? '';
    result.set(row[1], source === '-' || source === '' ? undefined : source);
  }
  return result;
}

/** `virsh dumpxml DOMAIN` (the live XML, which carries the `index` attributes). */
export async function dumpxml(domain: string, uri?: string, target: VirshTarget = {}): Promise<string> {
  const { stdout } = await runVirsh({ ...target, uri: uri ?? target.uri }, ['dumpxml', '--domain', domain]);
  return stdout;
}

/**
 * The disk `diskTarget` (e.g. "vda") of a running domain: alias, qdev path and the chain base-first
 * with libvirt's index per image, so `vda[N]` can be resolved exactly as libvirt does.
 */
export async function libvirtDiskIndices(domain: string, uri: string | undefined, diskTarget: string, target: VirshTarget = {}): Promise<LibvirtDisk> {
  const xml = await dumpxml(domain, uri, target);
  const disk = parseDomainDisks(xml).find((d) => d.target === diskTarget);
  if (!disk) throw new LibvirtDiskError(`domain ${JSON.stringify(domain)} has no disk with target ${JSON.stringify(diskTarget)}`);
  return disk;
}

// ------------------------------------------------------------------ domain XML

/** Every `<disk>` under `<devices>` of a domain XML document. */
export function parseDomainDisks(xml: string): LibvirtDisk[] {
  const root = parseXml(xml);
  const domain = root.children.find((e) => e.name === 'domain');
  if (!domain) throw new LibvirtDiskError('not a libvirt domain XML document (no <domain> element)');
  const disks: LibvirtDisk[] = [];
  for (const devices of childrenNamed(domain, 'devices')) {
    for (const disk of childrenNamed(devices, 'disk')) {
      const targetEl = childNamed(disk, 'target');
      const targetDev = targetEl?.attrs.dev;
      if (!targetDev) continue;
      const bus = targetEl?.attrs.bus;
      const alias = childNamed(disk, 'alias')?.attrs.name;
      const qdevPath = alias === undefined ? undefined : bus === 'virtio' ? `/machine/peripheral/${alias}/virtio-backend` : `/machine/peripheral/${alias}`;
      const topDown: LibvirtImage[] = [];
      // The disk element describes the active image: its format is <driver type=…>, its index on <source>.
      let level: XmlElement | undefined = disk;
      let isTop = true;
      while (level) {
        const source = childNamed(level, 'source');
        if (!source) break; // <backingStore/>: the end of the chain
        const format = isTop ? childNamed(level, 'driver')?.attrs.type : childNamed(level, 'format')?.attrs.type;
        const indexText = isTop ? (source.attrs.index ?? level.attrs.index) : (level.attrs.index ?? source.attrs.index);
        const file = source.attrs.file ?? source.attrs.dev ?? source.attrs.name ?? source.attrs.volume;
        if (file === undefined) break; // an empty drive (cdrom without medium)
        topDown.push({ index: indexText === undefined ? undefined : Number(indexText), file, format });
        level = childNamed(level, 'backingStore');
        isTop = false;
      }
      disks.push({ target: targetDev, bus, alias, qdevPath, chain: topDown.reverse() });
    }
  }
  return disks;
}

// ------------------------------------------------------------------ a small XML reader

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

function childNamed(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((child) => child.name === name);
}

/**
 * Enough XML for libvirt's own output: elements, attributes in ' or ", self-closing tags, the
 * five predefined entities and character references. Text, comments, processing instructions,
 * CDATA and DOCTYPE are skipped. Mismatched tags are an error rather than a guess.
 */
export function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '#document', attrs: {}, children: [] };
  const stack: XmlElement[] = [root];
  let at = 0;
  const fail = (what: string): never => {
    throw new LibvirtDiskError(`malformed XML at offset ${at}: ${what}`);
  };
  while (at < xml.length) {
    const open = xml.indexOf('<', at);
    if (open === -1) break;
    at = open;
    if (xml.startsWith('<!--', at)) {
      const end = xml.indexOf('-->', at + 4);
      at = end === -1 ? fail('unterminated comment') : end + 3;
      continue;
    }
    if (xml.startsWith('<![CDATA[', at)) {
      const end = xml.indexOf(']]>', at);
      at = end === -1 ? fail('unterminated CDATA') : end + 3;
      continue;
    }
    if (xml.startsWith('<?', at) || xml.startsWith('<!', at)) {
      const end = xml.indexOf('>', at);
      at = end === -1 ? fail('unterminated declaration') : end + 1;
      continue;
    }
    if (xml.startsWith('</', at)) {
      const end = xml.indexOf('>', at);
      if (end === -1) fail('unterminated end tag');
      const name = xml.slice(at + 2, end).trim();
      const top = stack.pop();
      if (!top || top === root || top.name !== name) fail(`</${name}> does not close <${top?.name ?? ''}>`);
      at = end + 1;
      continue;
    }
    const tag = /^<([A-Za-z_][\w.:-]*)/.exec(xml.slice(at, at + 256));
    if (!tag || !tag[1]) fail('expected a tag name');
    const element: XmlElement = { name: tag?.[1] ?? '', attrs: {}, children: [] };
    at += (tag?.[0] ?? '').length;
    for (;;) {
      while (/\s/.test(xml[at] ?? '')) at++;
      if (at >= xml.length) fail(`unterminated <${element.name}>`);
      if (xml.startsWith('/>', at)) {
        at += 2;
        (stack[stack.length - 1] ?? root).children.push(element);
        break;
      }
      if (xml[at] === '>') {
        at += 1;
        (stack[stack.length - 1] ?? root).children.push(element);
        stack.push(element);
        break;
      }
      const attr = /^([A-Za-z_][\w.:-]*)\s*=\s*(['"])/.exec(xml.slice(at, at + 256));
      if (!attr || !attr[1] || !attr[2]) fail(`bad attribute in <${element.name}>`);
      at += (attr?.[0] ?? '').length;
      const close = xml.indexOf(attr?.[2] ?? '"', at);
      if (close === -1) fail(`unterminated attribute value in <${element.name}>`);
      element.attrs[attr?.[1] ?? ''] = decodeEntities(xml.slice(at, close));
      at = close + 1;
    }
  }
  if (stack.length !== 1) throw new LibvirtDiskError(`malformed XML: <${stack[stack.length - 1]?.name ?? ''}> is never closed`);
  return root;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (whole, entity: string) => {
    switch (entity) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const code = entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
        return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
      }
    }
  });
}
