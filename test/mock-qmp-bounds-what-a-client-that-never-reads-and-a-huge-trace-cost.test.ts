// mock-qmp serve stays bounded for a client that sends and never reads (it stops reading; 200k
// commands once took 207 MB; 100k here), and a huge or broken trace is refused without reading it whole (a 1 GB
// trace once took 1.1 GB before its error).
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { fixturePath, tempDir } from './helpers/qemu.js';
import { finished, startMockQmpCli } from './helpers/cli.js';
import { rssMiB } from './helpers/heap.js';

t.test('100,000 commands from a client that never reads hold little in the server, and all are answered once it reads', async (t) => {
  const socket = path.join(tempDir(t), 'mock.sock');
  const server = startMockQmpCli(['serve', '--trace', fixturePath('active-commit-pivot.jsonl'), '--socket', socket, '--instant']);
  t.teardown(() => server.kill('SIGKILL'));
  await new Promise<void>((resolve) => server.stderr!.once('data', () => resolve())); // "serving …"
  const baseline = rssMiB(server.pid!);
  const client = net.connect(socket);
  t.teardown(() => client.destroy());
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  client.pause();
  const count = 100_000;
  const batch = '{"execute":"query-status"}'.repeat(1000);
  for (let i = 0; i < count / 1000; i++) client.write(batch);
  // Bounded: until the server took everything (an unbounded server) or 5 s passed (a server that stopped reading).
  const drained = await Promise.race([
    new Promise<string>((resolve) => client.once('drain', () => resolve('drained'))),
    new Promise<string>((resolve) => setTimeout(() => resolve('held back'), 5000).unref()),
  ]);
  const held = rssMiB(server.pid!) - baseline;
  t.equal(drained, 'held back', 'the server should stop reading from a client that does not read');
  t.ok(held < 40, `the server should hold little while the client does not read: +${held.toFixed(0)} MiB`);
  // The client reads: every command gets its answer, in order, and the server never grew much.
  let answered = 0;
  let buffered = '';
  await new Promise<void>((resolve) => {
    client.setEncoding('utf8');
    client.on('data', (text: string) => {
      buffered += text;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.includes('"error"') || line.includes('"return"')) answered += 1;
      }
      if (answered >= count) resolve();
    });
    client.resume();
  });
  t.equal(answered, count, 'every command should be answered');
});

t.test('a 1 GiB trace is refused at once; a bad line is reported without reading the rest', async (t) => {
  const dir = tempDir(t);
  const huge = path.join(dir, 'huge.jsonl');
  const fd = openSync(huge, 'w');
  ftruncateSync(fd, 2 ** 30); // sparse: 1 GiB of zeros, no disk space used
  closeSync(fd);
  const serve = (trace: string) => finished(startMockQmpCli(['serve', '--trace', trace, '--socket', path.join(dir, 'm.sock')]), 20_000);
  const started = Date.now();
  const refused = await serve(huge);
  t.equal(refused.code, 1, 'exit 1');
  t.match(
    refused.stderr,
    `mock-qmp: ${huge}: the file has 1073741824 bytes, more than the 268435456 a trace may have`,
    'the error should give the size and the limit',
  );
  t.ok(Date.now() - started < 5000, 'at once');
  // A broken line 2 in front of 200 MB of valid-looking lines: reported at line 2, the rest unread.
  const broken = path.join(dir, 'broken.jsonl');
  const out = openSync(broken, 'w');
  writeSync(out, `${readFileSync(fixturePath('active-commit-pivot.jsonl'), 'utf8').split('\n')[0]}\n{"t": "soon"}\n`);
  ftruncateSync(out, 200 * 2 ** 20);
  closeSync(out);
  const bad = await serve(broken);
  t.equal(bad.code, 1, 'exit 1');
  t.match(bad.stderr, `mock-qmp: ${broken}:2: "t" must be a non-negative number of seconds`, 'the error should name the bad line');
});
