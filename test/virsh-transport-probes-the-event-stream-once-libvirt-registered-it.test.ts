// The event stream is probed once libvirt says it registered the event callback: one probe round,
// even when the event process registers only after the probe node is in place — the order a loaded
// machine produces at random, made certain here by a virsh wrapper. A probe sent before the
// registration is lost, so probing by rounds alone would need at least two here.
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { VirshTransport } from '../src/transport/virsh/index.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI } from './helpers/libvirt.js';
import { twoImageChain } from './helpers/libvirt-chain.js';
import { tempDir } from './helpers/qemu.js';

/**
 * A virsh whose `qemu-monitor-event` starts only when the command shell has passed on the probe
 * node's blockdev-add (a FIFO, no sleep): the event process then registers while the probe runs.
 */
function lateEventsVirsh(dir: string): string {
  const wrapper = path.join(dir, 'virsh');
  const fifo = path.join(dir, 'probe-node-added');
  writeFileSync(
    wrapper,
    `#!/bin/bash
case " $* " in
  *" qemu-monitor-event "*) read -r _ < '${fifo}'; exec virsh "$@" ;;
  *" -q "*)
    # bash's read takes a pipe byte by byte, so the line is seen as soon as it is written; cat drains the rest.
    tee >(while IFS= read -r line; do case $line in *'"blockdev-add"'*) echo go > '${fifo}'; break ;; esac; done; cat > /dev/null) | virsh "$@"
    exit "\${PIPESTATUS[1]}" ;;
  *) exec virsh "$@" ;;
esac
`,
  );
  chmodSync(wrapper, 0o755);
  return wrapper;
}

if (await libvirtOrSkip(t)) {
  t.test('one probe round when the event process registers late', async (t) => {
    const dir = tempDir(t);
    const { top } = await twoImageChain(dir);
    const domain = await createDomain(t, { disk: top });
    execFileSync('mkfifo', [path.join(dir, 'probe-node-added')]);
    const transport = await VirshTransport.connect({ domain: domain.name, uri: LIBVIRT_URI, virshPath: lateEventsVirsh(dir), connectTimeoutMs: 20_000 });
    t.teardown(() => transport.close());
    t.equal(transport.info.probeRounds, 1, 'the event stream should be probed once, after libvirt registered it');
  });
}
