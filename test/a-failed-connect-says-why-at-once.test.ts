// A connect that cannot work fails at once and says why: a peer that is not QMP (an SSH banner, other
// JSON, 100 MB of anything) is named by what it sent; a --socket path that is a regular file or a
// directory is no socket (not 10 s of retries); a socket that never appears names ENOENT and the path.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startFaultProxy } from './helpers/fault-proxy.js';
import { runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { connect } from '../src/connect.js';

const isGreeting = (line: string): boolean => 'QMP' in (JSON.parse(line) as object);

t.test('a peer that is not QMP is named by what it sent, at once', async (t) => {
  const dir = tempDir(t);
  const { qemu, client } = await startQemu(t, { dir });
  await client.close();
  const replacements = [
    ['SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n', /: not a QMP server: got 'SSH-2\.0-OpenSSH_9\.2p1 Debian-2\+deb12u3'$/m],
    ['{"hello": "world"}\r\n', /: not a QMP server: got \{"hello":"world"\} where the QMP greeting should be$/m],
    ['A'.repeat(100 * 2 ** 20), /: not a QMP server: got more than 65536 bytes without a QMP greeting$/m],
  ] as const;
  let connection = 0;
  const proxy = await startFaultProxy(dir, qemu.socketPath, {
    fromQemu: (line, n) => (isGreeting(line) ? [replacements[n - 1]![0]] : [line]),
  });
  t.teardown(() => proxy.close());
  for (const [sent, expected] of replacements) {
    connection += 1;
    const started = Date.now();
    const result = await runCli(['jobs', '--socket', proxy.path], 30_000);
    const took = Date.now() - started;
    t.equal(result.code, 1, `connection ${connection}: exit 1; stderr: ${result.stderr.slice(0, 300)}`);
    t.match(
      result.stderr,
      new RegExp(`^error: cannot connect to unix:${proxy.path.replace(/[.]/g, '\\.')}`),
      `connection ${connection}: the error should name the socket`,
    );
    t.match(result.stderr, expected, `connection ${connection}: the error should say what came instead of a greeting (${sent.slice(0, 20)})`);
    t.ok(took < 5000, `connection ${connection}: should fail at once, not after the connect timeout; took ${took} ms`);
  }
  // QEMU itself was never harmed: a direct connection works.
  const direct = await connect({ path: qemu.socketPath });
  t.teardown(() => direct.close());
  t.type((await direct.execute('query-status')).status, 'string', 'QEMU answers directly');
});

t.test('--socket at a regular file or a directory fails at once as no socket', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'disk.qcow2');
  writeFileSync(file, 'not a socket');
  const folder = path.join(dir, 'folder');
  mkdirSync(folder);
  for (const [target, kind] of [
    [file, 'a regular file'],
    [folder, 'a directory'],
  ] as const) {
    const started = Date.now();
    const result = await runCli(['jobs', '--socket', target], 30_000);
    t.equal(result.code, 1, `${kind}: exit 1`);
    t.equal(
      result.stderr,
      `error: cannot connect to unix:${target}: ENOTSOCK: ${target} is ${kind}, not a socket (connect ECONNREFUSED ${target})\n`,
      `${kind}: the error should say it is no socket`,
    );
    t.ok(Date.now() - started < 3000, `${kind}: should fail at once, not after 10 s of retries`);
  }
});

t.test('a socket that never appears names ENOENT and the path when the connect timeout ends', async (t) => {
  const missing = path.join(tempDir(t), 'missing.sock');
  const result = await runCli(['jobs', '--socket', missing, '--connect-timeout', '0.3'], 30_000);
  t.equal(result.code, 1, 'exit 1');
  t.match(
    result.stderr,
    new RegExp(`^error: cannot connect to unix:${missing}: no QMP monitor answered within 300 ms \\(last attempt: connect ENOENT ${missing}\\)`),
    'the error should keep the cause: ENOENT and the path',
  );
});
