// Through libvirt, QEMU's error replies (virsh exits 0 for them) become QmpCommandError with QEMU's class and desc.
import t from 'tap';
import { QmpCommandError, ConnectionState } from '../src/internal.js';
import { connect } from '../src/connect.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI } from './helpers/libvirt.js';
import { twoImageChain } from './helpers/libvirt-chain.js';
import { tempDir } from './helpers/qemu.js';

if (await libvirtOrSkip(t)) {
  t.test('error replies carry class, desc, command and arguments', async (t) => {
    const { top } = await twoImageChain(tempDir(t));
    const domain = await createDomain(t, { disk: top });
    const client = await connect({ domain: domain.name, uri: LIBVIRT_URI, connectTimeoutMs: 20_000 });
    t.teardown(() => client.close());
    const error = await client.execute('block-job-cancel', { device: 'nope' }).catch((e: unknown) => e);
    t.ok(error instanceof QmpCommandError, 'error should be a QmpCommandError');
    const e = error as QmpCommandError;
    t.equal(e.errorClass, 'DeviceNotActive', "error class should be QEMU's");
    t.equal(e.desc, "Block job 'nope' not found", "desc should be QEMU's text");
    t.equal(e.command, 'block-job-cancel', 'error should name the command');
    t.same(e.args, { device: 'nope' }, 'error should keep the arguments');
    const unknown = await client.executeUntyped('no-such-command').catch((e: unknown) => e);
    t.equal((unknown as QmpCommandError).errorClass, 'CommandNotFound', 'unknown command should be CommandNotFound');
    const badArgs = await client.executeUntyped('query-status', { bogus: 1 }).catch((e: unknown) => e);
    t.equal((badArgs as QmpCommandError).errorClass, 'GenericError', 'bad arguments should be a GenericError');
    t.match((badArgs as QmpCommandError).desc, /bogus/, "the desc should name QEMU's complaint");
    t.equal(client.state, ConnectionState.Running, 'errors should not disturb the connection');
    const status = await client.execute('query-status');
    t.equal(status.status, 'running', 'the next command should work normally');
  });
}
