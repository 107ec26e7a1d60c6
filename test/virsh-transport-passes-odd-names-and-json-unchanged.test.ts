// Domain names with spaces and quotes, and JSON with quotes and non-ASCII, pass through virsh unchanged (no shell anywhere).
import t from 'tap';
import { QmpCommandError } from '../src/internal.js';
import { connect } from '../src/connect.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI, uniqueDomainName } from './helpers/libvirt.js';
import { twoImageChain } from './helpers/libvirt-chain.js';
import { tempDir } from './helpers/qemu.js';

if (await libvirtOrSkip(t)) {
  t.test('a domain named with spaces, quotes and "\': " works for commands and events', async (t) => {
    const { top } = await twoImageChain(tempDir(t));
    // "': " is the separator virsh prints between the domain name and the event data.
    const name = uniqueDomainName(` it's "odd"': {x} $HOME;`);
    const domain = await createDomain(t, { disk: top, name });
    const client = await connect({ domain: name, uri: LIBVIRT_URI, connectTimeoutMs: 20_000 });
    t.teardown(() => client.close());
    t.equal(client.peer, `libvirt:${LIBVIRT_URI}:${name}`, 'peer should carry the exact domain name');
    const status = await client.execute('query-status');
    t.equal(status.status, 'running', 'commands should reach the oddly named domain');
    const cursor = client.eventCursor();
    await client.execute('stop');
    const stop = await client.waitForEvent('STOP', undefined, { since: cursor, timeoutMs: 10_000 });
    t.equal(stop.event, 'STOP', 'events of the oddly named domain should be parsed');
    await client.execute('cont');

    const odd = `/no such 'path' "with" \\ backslash; $(echo) é✓ \u{1F600} ${'x'.repeat(5000)}`;
    const error = await client.executeUntyped('qom-list', { path: odd }).catch((e: unknown) => e);
    t.ok(error instanceof QmpCommandError, 'the odd path should reach QEMU and come back as its error');
    t.equal((error as QmpCommandError).desc, `Device '${odd}' not found`, 'QEMU should have received the path byte for byte (also past the shell line limit)');
    const short = odd.slice(0, 60);
    const again = await client.executeUntyped('qom-list', { path: short }).catch((e: unknown) => e);
    t.equal((again as QmpCommandError).desc, `Device '${short}' not found`, 'a short odd argument goes through the shell unchanged');
    t.equal(domain.name, name, 'domain helper kept the name');
  });
}
