// Through libvirt, STOP/RESUME arrive as QMP events with their names, data and QEMU's microsecond timestamps.
import t from 'tap';
import type { QmpEvent } from '../src/internal.js';
import { connect } from '../src/connect.js';
import { createDomain, libvirtOrSkip, LIBVIRT_URI } from './helpers/libvirt.js';
import { twoImageChain } from './helpers/libvirt-chain.js';
import { tempDir } from './helpers/qemu.js';

if (await libvirtOrSkip(t)) {
  t.test('stop and cont give STOP then RESUME, timestamped by QEMU', async (t) => {
    const { top } = await twoImageChain(tempDir(t));
    const domain = await createDomain(t, { disk: top });
    const client = await connect({ domain: domain.name, uri: LIBVIRT_URI, connectTimeoutMs: 20_000 });
    t.teardown(() => client.close());
    const seen: QmpEvent[] = [];
    client.on('event', (e) => seen.push(e));
    const before = Date.now() / 1000;
    const cursor = client.eventCursor();
    await client.execute('stop');
    const stop = await client.waitForEvent('STOP', undefined, { since: cursor, timeoutMs: 10_000 });
    const resumed = client.waitForEvent('RESUME', undefined, { timeoutMs: 10_000 });
    await client.execute('cont');
    const resume = await resumed;
    const after = Date.now() / 1000;
    t.same(
      seen.map((e) => e.event),
      ['STOP', 'RESUME'],
      'exactly STOP then RESUME should arrive (no probe events leak)',
    );
    t.same(stop.data, {}, 'STOP has no data');
    for (const e of [stop, resume]) {
      const at = e.timestamp.seconds + e.timestamp.microseconds / 1e6;
      t.ok(Number.isInteger(e.timestamp.seconds) && Number.isInteger(e.timestamp.microseconds), `${e.event} timestamp should be integers`);
      t.ok(e.timestamp.microseconds >= 0 && e.timestamp.microseconds < 1_000_000, `${e.event} microseconds should be in range`);
      t.ok(at >= before - 1 && at <= after + 1, `${e.event} timestamp ${at} should lie between ${before} and ${after}`);
    }
    const stopAt = stop.timestamp.seconds * 1e6 + stop.timestamp.microseconds;
    const resumeAt = resume.timestamp.seconds * 1e6 + resume.timestamp.microseconds;
    t.ok(resumeAt > stopAt, 'RESUME should be stamped after STOP');
    t.ok(
      seen.some((e) => e.timestamp.microseconds % 1000 !== 0),
      'timestamps should have microsecond (not millisecond) precision',
    );
    const status = await client.execute('query-status');
    t.equal(status.status, 'running', 'the guest should be running again');
  });

  t.test('events with data arrive as objects, and events keep flowing to an async iterator', async (t) => {
    const { top } = await twoImageChain(tempDir(t));
    const domain = await createDomain(t, { disk: top });
    const client = await connect({ domain: domain.name, uri: LIBVIRT_URI, connectTimeoutMs: 20_000 });
    t.teardown(() => client.close());
    const abort = new AbortController();
    const stream = client.events({ names: ['BLOCK_WRITE_THRESHOLD'], signal: abort.signal });
    await client.executeUntyped('block-set-write-threshold', { 'node-name': 'libvirt-1-format', 'write-threshold': 512 });
    await client.execute('human-monitor-command', { 'command-line': 'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "write -q -P 0x11 0 4k"' });
    const first = await stream.next();
    abort.abort();
    t.equal(first.done, false, 'the iterator should yield an event');
    const event = first.value as QmpEvent;
    t.equal(event.event, 'BLOCK_WRITE_THRESHOLD', 'event name');
    t.same(event.data, { 'node-name': 'libvirt-1-format', 'write-threshold': 512, 'amount-exceeded': 4096 - 512 }, "event data should be QEMU's object");
  });
}
