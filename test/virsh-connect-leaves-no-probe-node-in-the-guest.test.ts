// The event-stream probe's private null-co node is gone once connect returns — for the client's first
// command, and in the guest when the transport is closed at once — although connect does not wait for
// its blockdev-del (the shell runs it before anything sent after it).
import t from 'tap';
import { connect } from '../src/connect.js';
import { VirshTransport } from '../src/transport/virsh/index.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI, virsh } from './helpers/libvirt.js';
import { twoImageChain } from './helpers/libvirt-chain.js';
import { tempDir } from './helpers/qemu.js';

const probeNodes = (nodes: unknown): string[] =>
  (nodes as Array<{ 'node-name'?: string }>).map((n) => n['node-name'] ?? '').filter((name) => name.startsWith('qbj-probe-'));

if (await libvirtOrSkip(t)) {
  t.test('no probe node for the first command, nor after an immediate close', async (t) => {
    const { top } = await twoImageChain(tempDir(t));
    const domain = await createDomain(t, { disk: top });
    const client = await connect({ domain: domain.name, uri: LIBVIRT_URI, connectTimeoutMs: 20_000 });
    const seen = probeNodes(await client.execute('query-named-block-nodes', { flat: true }));
    await client.close();
    t.same(seen, [], 'the first command should find no probe node');

    const transport = await VirshTransport.connect({ domain: domain.name, uri: LIBVIRT_URI, connectTimeoutMs: 20_000 });
    await transport.close();
    const reply = JSON.parse(
      await virsh('qemu-monitor-command', '--domain', domain.name, '--cmd', '{"execute":"query-named-block-nodes","arguments":{"flat":true}}'),
    ) as { return: unknown };
    t.same(probeNodes(reply.return), [], 'a transport closed right after connect should leave no probe node either');
  });
}
