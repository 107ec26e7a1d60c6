// The --connect URI passes through unchanged: qemu+ssh:// to a private loopback sshd (ci/sshd-up.sh) carries commands and events.
import { execFile } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { connect } from '../src/connect.js';
import { createDomain, libvirtOrSkip } from './helpers/libvirt.js';
import { twoImageChain } from './helpers/libvirt-chain.js';
import { repoRoot, tempDir } from './helpers/qemu.js';

function sshScript(name: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [path.join(repoRoot, 'ci', name)], { timeout: 300_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

if (await libvirtOrSkip(t)) {
  t.test('commands and events over qemu+ssh://root@127.0.0.1', async (t) => {
    const up = await sshScript('sshd-up.sh');
    t.teardown(() => sshScript('sshd-down.sh'));
    if (up.code === 3) {
      // sshd-up.sh installs openssh-server with apt when it is missing; no apt means no ssh test.
      console.error(`# SKIP qemu+ssh test: cannot run a loopback sshd: ${up.stderr.trim()}`);
      t.plan(0, `cannot run a loopback sshd: ${up.stderr.trim()}`);
      return;
    }
    t.equal(up.code, 0, `ci/sshd-up.sh should start a loopback sshd: ${up.stderr.trim()}`);
    const uri = up.stdout.trim().split('\n').pop() ?? '';
    t.match(uri, /^qemu\+ssh:\/\/root@127\.0\.0\.1:\d+\/system\?keyfile=/, 'sshd-up.sh should print the URI');
    const { top } = await twoImageChain(tempDir(t));
    const domain = await createDomain(t, { disk: top });
    const client = await connect({ domain: domain.name, uri, connectTimeoutMs: 30_000 });
    t.teardown(() => client.close());
    t.equal(client.peer, `libvirt:${uri}:${domain.name}`, 'the peer should name the ssh URI');
    const status = await client.execute('query-status');
    t.equal(status.status, 'running', 'a command should travel over ssh');
    const cursor = client.eventCursor();
    await client.execute('stop');
    const stop = await client.waitForEvent('STOP', undefined, { since: cursor, timeoutMs: 15_000 });
    t.equal(stop.event, 'STOP', 'an event should travel back over ssh');
    await client.execute('cont');
    const started = Date.now();
    for (let i = 0; i < 20; i++) await client.execute('query-status');
    t.comment(`over qemu+ssh: ${((Date.now() - started) / 20).toFixed(1)} ms per command through the persistent shell`);
  });
}
