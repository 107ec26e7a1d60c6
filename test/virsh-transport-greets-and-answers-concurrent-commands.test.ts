// Through libvirt: the greeting is built from query-version, and 50 concurrent commands each get their own reply.
import t from 'tap';
import { QmpCommandError, ConnectionState } from '../src/internal.js';
import { connect } from '../src/connect.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI } from './helpers/libvirt.js';
import { twoImageChain } from './helpers/libvirt-chain.js';
import { tempDir } from './helpers/qemu.js';

if (await libvirtOrSkip(t)) {
  t.test('greeting from query-version, then 50 concurrent commands answered by their own ids', async (t) => {
    const { top } = await twoImageChain(tempDir(t));
    const domain = await createDomain(t, { disk: top });
    const client = await connect({ domain: domain.name, uri: LIBVIRT_URI, connectTimeoutMs: 20_000 });
    t.teardown(() => client.close());
    t.equal(client.state, ConnectionState.Running, 'client should be running after connect');
    const version = await client.execute('query-version');
    t.same(client.greeting.QMP.version, version, 'greeting should carry exactly what query-version returns');
    t.same(client.greeting.QMP.capabilities, [], 'no capabilities are offered through libvirt (it negotiated already)');
    t.match(client.peer, domain.name, 'peer should name the domain');

    const calls = Array.from({ length: 50 }, (_, i) => {
      switch (i % 3) {
        case 0:
          return client.execute('query-version').then((r) => `version:${r.qemu.major}`);
        case 1:
          return client.execute('query-status').then((r) => `status:${r.status}`);
        default:
          return client.execute('block-job-cancel', { device: `job${i}` }).then(
            () => 'unexpected success',
            (e: QmpCommandError) => `error:${e.desc}`,
          );
      }
    });
    t.equal(client.pendingCount, 50, 'all 50 commands should be in flight at once');
    const results = await Promise.all(calls);
    results.forEach((result, i) => {
      const expected = [new RegExp(`^version:${version.qemu.major}$`), /^status:running$/, new RegExp(`^error:Block job 'job${i}' not found$`)][i % 3];
      t.match(result, expected as RegExp, `command ${i} got the reply for another command: ${result}`);
    });
    await client.close();
    t.equal(client.state, ConnectionState.Closed, 'client should be closed');
  });
}
