// A client talking to QEMU through the recorder receives byte for byte what it receives directly,
// and the trace holds every message both ways.
import path from 'node:path';
import t from 'tap';
import { startRecorder, readTrace } from '../mock-qmp/index.js';
import { QemuProcess } from '../src/transport/qemu-process.js';
import { tempDir } from './helpers/qemu.js';
import { buildSeedChain } from './helpers/chain.js';
import { captureRawStream } from './helpers/raw-capture.js';
import { connect } from '../src/connect.js';

t.test('same bytes with and without the recorder', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const top = layers[layers.length - 1]!;
  const qemu = await QemuProcess.start({ dir, args: ['-drive', `if=none,id=drive0,file=${top.file},format=qcow2`] });
  t.teardown(async () => {
    qemu.kill('SIGKILL');
    await qemu.exited;
  });
  const session = [
    { execute: 'qmp_capabilities' },
    { execute: 'query-version', id: 1 },
    { execute: 'query-block', id: 'blocks' },
    { execute: 'query-status', id: { nested: [1, 2] } },
    { execute: 'block-job-complete', arguments: { device: 'nope' }, id: 'err' },
    { execute: 'no-such-command', id: 'unknown' },
  ];
  // The first capture also waits for QEMU to listen (it retries nothing, so give QEMU a connect first).
  await (await qemu.failIfExits(connect({ path: qemu.socketPath }, { connectTimeoutMs: 15_000, negotiate: false }))).close();
  const direct = await captureRawStream(qemu.socketPath, session);
  const out = path.join(dir, 'trace.jsonl');
  const recorder = await startRecorder({ upstream: qemu.socketPath, socket: path.join(dir, 'rec.sock'), out, note: 'transparency test' });
  const proxied = await captureRawStream(path.join(dir, 'rec.sock'), session);
  await recorder.idle();
  await recorder.close();
  t.equal(proxied.toString('latin1'), direct.toString('latin1'), "the recorder should pass QEMU's bytes through unchanged");
  const trace = readTrace(out);
  t.same(
    trace.messages.filter((m) => m.dir === 'out').map((m) => m.msg),
    session,
    'the trace should hold every command as sent',
  );
  t.equal(trace.messages.filter((m) => m.dir === 'in').length, session.length + 1, 'the trace should hold the greeting and every reply');
  const greeting = JSON.parse(direct.toString('utf8').split('\n')[0] ?? '{}') as { QMP?: { version?: unknown } };
  t.ok(greeting.QMP?.version, 'QEMU greeted with its version');
  t.same(trace.header?.qemu, greeting.QMP?.version, "the header should carry QEMU's version from the greeting");
  t.equal(trace.end?.end, 'client', 'the trace should end with the client closing');
});
