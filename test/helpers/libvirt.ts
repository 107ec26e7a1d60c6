import { execFile } from 'node:child_process';
import { accessSync, appendFileSync, constants, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Test } from 'tap';
import { runVirsh } from '../../src/transport/virsh/exec.js';
import { repoRoot, tempDir } from './qemu.js';

/*
 * A real libvirtd for the tests. The first test process that needs it runs ci/libvirt-up.sh
 * (idempotent, flock-serialized, installs packages on a fresh Debian machine) and registers itself
 * as a user; when the process ends it runs ci/libvirt-down.sh --user, which stops libvirtd/virtlogd
 * only if this run started them and no other test process still uses them (QMPBJ_LIBVIRT_KEEP=1
 * keeps them for a final ci/libvirt-down.sh, as .ci/run does).
 * Tests are skipped, with the reason printed, only when not root or apt cannot install libvirt.
 */

export const LIBVIRT_URI = 'qemu:///system';
const STATE = process.env.QMPBJ_LIBVIRT_STATE ?? '/tmp/qmpbj-libvirt';

type Availability = { ok: true } | { ok: false; skip: string };
let availability: Promise<Availability> | undefined;

function script(name: string, args: string[], timeoutMs: number): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [path.join(repoRoot, 'ci', name), ...args], { timeout: timeoutMs }, (error, _stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stderr });
    });
  });
}

function ensureLibvirt(t: Test): Promise<Availability> {
  if (!availability) {
    availability = (async (): Promise<Availability> => {
      if (process.getuid?.() !== 0) return { ok: false, skip: 'libvirt tests need root (libvirtd qemu:///system); not root' };
      const up = await script('libvirt-up.sh', ['--user', String(process.pid)], 900_000);
      if (up.code === 2) return { ok: false, skip: `libvirt tests need root: ${up.stderr.trim()}` };
      if (up.code === 3) return { ok: false, skip: `libvirt cannot be installed with apt: ${up.stderr.trim()}` };
      if (up.code !== 0) throw new Error(`ci/libvirt-up.sh failed (exit ${up.code}): ${up.stderr.trim()}`);
      return { ok: true };
    })();
    // The root test ends when the file ends: give libvirtd back then (the last user stops it).
    t.teardown(async () => {
      await script('libvirt-down.sh', ['--user', String(process.pid)], 60_000);
    });
  }
  return availability;
}

/**
 * Brings libvirt up for this test file, or plans zero tests with the reason (and prints it) when the
 * machine cannot run it. Returns false when skipped.
 */
export async function libvirtOrSkip(t: Test): Promise<boolean> {
  const status = await ensureLibvirt(t);
  if (!status.ok) {
    console.error(`# SKIP libvirt tests: ${status.skip}`);
    t.plan(0, status.skip);
    return false;
  }
  return true;
}

export interface TestDomain {
  name: string;
  uuid: string;
  xmlPath: string;
  /** Destroys the domain now (teardown does it too; destroying twice is fine). */
  destroy(): Promise<void>;
}

/**
 * The qemu-system-x86_64 the rest of the tests run (the first on PATH), as the domain's <emulator>:
 * the stack under test is chosen by PATH alone (ci/stack.sh), libvirt included.
 */
export function emulatorPath(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir || '.', 'qemu-system-x86_64');
    try {
      accessSync(candidate, constants.X_OK);
      return path.resolve(candidate);
    } catch {
      // not here
    }
  }
  return '/usr/bin/qemu-system-x86_64';
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** A unique domain name for this process (optionally with a readable, odd suffix). */
export function uniqueDomainName(suffix = ''): string {
  return `qbj-${process.pid}-${randomBytes(3).toString('hex')}${suffix}`;
}

/**
 * The XML of a transient TCG test domain (pc, 64 MiB, no video/graphics/balloon/usb) with `disk` as
 * its virtio vda; `qemuArgs` are appended to QEMU's command line through <qemu:commandline>.
 */
export function testDomainXml(options: {
  name: string;
  disk: string;
  format: string;
  qemuArgs?: readonly string[];
  boot?: { kernel: string; initrd: string };
  agent?: boolean;
}): string {
  // A Linux guest booted from its kernel (test/helpers/guest.ts), and libvirt's guest-agent channel.
  const boot = options.boot
    ? `<kernel>${xmlEscape(options.boot.kernel)}</kernel><initrd>${xmlEscape(options.boot.initrd)}</initrd><cmdline>console=ttyS0 quiet loglevel=0 panic=-1</cmdline>`
    : '';
  const agent = options.agent ? `    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n` : '';
  const extra = options.qemuArgs?.length
    ? `  <qemu:commandline>\n${options.qemuArgs.map((a) => `    <qemu:arg value='${xmlEscape(a)}'/>`).join('\n')}\n  </qemu:commandline>\n`
    : '';
  return `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>${xmlEscape(options.name)}</name>
  <memory unit='MiB'>${options.boot ? 256 : 64}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>${boot}</os>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>${xmlEscape(emulatorPath())}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='${xmlEscape(options.format)}'/>
      <source file='${xmlEscape(options.disk)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <video><model type='none'/></video>
    <memballoon model='none'/>
${agent}  </devices>
${extra}</domain>
`;
}

/**
 * `virsh create` a transient TCG domain (pc, 64 MiB, no video/graphics/balloon/usb) whose virtio
 * vda is `disk` (a qcow2 chain built beforehand); destroyed at teardown.
 */
export async function createDomain(
  t: Test,
  options: { disk: string; format?: string; name?: string; boot?: { kernel: string; initrd: string }; agent?: boolean },
): Promise<TestDomain> {
  const name = options.name ?? uniqueDomainName();
  const dir = tempDir(t);
  const xmlPath = path.join(dir, 'domain.xml');
  writeFileSync(
    xmlPath,
    testDomainXml({
      name,
      disk: options.disk,
      format: options.format ?? 'qcow2',
      ...(options.boot ? { boot: options.boot } : {}),
      ...(options.agent ? { agent: true } : {}),
    }),
  );
  // Recorded so a final ci/libvirt-down.sh destroys it even if this process is killed.
  appendFileSync(path.join(STATE, 'domains'), `${name}\n`);
  await runVirsh({ uri: LIBVIRT_URI }, ['create', '--file', xmlPath], { timeoutMs: 60_000 });
  const destroy = async (): Promise<void> => {
    await runVirsh({ uri: LIBVIRT_URI }, ['destroy', '--domain', name], { timeoutMs: 60_000 }).catch(() => undefined);
  };
  t.teardown(destroy);
  const { stdout } = await runVirsh({ uri: LIBVIRT_URI }, ['domuuid', '--domain', name]);
  return { name, uuid: stdout.trim(), xmlPath, destroy };
}

/** `virsh qemu-monitor-command --hmp` through an argument vector. */
export async function hmp(domain: string, commandLine: string): Promise<string> {
  const { stdout } = await runVirsh({ uri: LIBVIRT_URI }, ['qemu-monitor-command', '--domain', domain, '--hmp', '--cmd', commandLine]);
  return stdout;
}

/** Plain `virsh ARGS…` against the test URI. */
export async function virsh(...args: string[]): Promise<string> {
  const { stdout } = await runVirsh({ uri: LIBVIRT_URI }, args, { timeoutMs: 60_000 });
  return stdout;
}
