// --trace at a FIFO (with or without a reader) fails at once with a clear error: it once blocked in
// open() before connecting, deaf to Ctrl-C.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runCli } from './helpers/cli.js';
import { startQemu } from './helpers/qemu.js';

t.test('--trace FIFO is refused at once, with or without a reader', async (t) => {
  const { qemu, client, dir } = await startQemu(t);
  await client.close();
  const fifo = path.join(dir, 'trace.fifo');
  execFileSync('mkfifo', [fifo]);
  const run = async (extra: string[]) => {
    const started = Date.now();
    const result = await runCli(['--trace', fifo, ...extra, 'jobs', '--socket', qemu.socketPath], 10_000);
    return { ...result, took: Date.now() - started };
  };
  const plain = await run([]);
  t.equal(plain.signal, null, 'should not have to be killed');
  t.equal(plain.code, 1, 'exit 1');
  t.match(
    plain.stderr,
    `error: cannot write the trace to ${fifo}: it already exists; refusing to overwrite it (use --trace-append to add to it, or name a new file)`,
    'an existing path is refused',
  );
  const noReader = await run(['--trace-append']);
  t.equal(noReader.signal, null, 'with --trace-append and no reader: not blocked');
  t.match(noReader.stderr, `error: cannot write the trace to ${fifo}: it is a FIFO or socket with no reader, not a regular file`, 'the error should say why');
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  t.teardown(() => closeSync(reader));
  const withReader = await run(['--trace-append']);
  t.match(withReader.stderr, `error: cannot write the trace to ${fifo}: it is not a regular file`, 'with a reader: still no regular file');
  for (const r of [plain, noReader, withReader]) t.ok(r.took < 5000, `each should fail at once, took ${r.took} ms`);
});
