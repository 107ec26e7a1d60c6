// A missing virsh, a refused libvirt connection or an unknown domain is a ConnectError within seconds, with no child left.
import t, { type Test } from 'tap';
import { ConnectError } from '../src/internal.js';
import { VirshTransport } from '../src/transport/virsh/index.js';
import { libvirtOrSkip, LIBVIRT_URI, uniqueDomainName } from './helpers/libvirt.js';

async function connectError(t: Test, options: Parameters<typeof VirshTransport.connect>[0], pattern: RegExp, withinMs: number): Promise<void> {
  const started = Date.now();
  const error = await VirshTransport.connect(options).then(
    async (transport) => {
      await transport.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  const took = Date.now() - started;
  t.ok(error instanceof ConnectError, `should fail with ConnectError, got ${String(error)}`);
  t.match((error as Error).message, pattern, 'the message should say what went wrong');
  t.ok(took < withinMs, `should fail within ${withinMs} ms (took ${took} ms)`);
}

t.test('a missing virsh binary', async (t) => {
  await connectError(t, { domain: 'vm', virshPath: '/nonexistent/virsh' }, /ENOENT/, 3000);
});

t.test('a refused libvirt connection', async (t) => {
  await connectError(t, { domain: 'vm', uri: 'qemu+unix:///system?socket=/nonexistent/libvirt-sock' }, /failed to connect|No such file/i, 5000);
});

t.test('an unknown domain', async (t) => {
  if (!(await libvirtOrSkip(t))) return;
  const name = uniqueDomainName('-absent');
  await connectError(t, { domain: name, uri: LIBVIRT_URI }, /failed to get domain/, 3000);
});
