// mock-qmp serve|record --socket PATH removes only a stale socket (one nobody listens on): a regular
// file (a disk image!), a directory or a live socket at PATH is refused and left as it was.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { fixturePath, tempDir } from './helpers/qemu.js';
import { finished, startMockQmpCli } from './helpers/cli.js';
import { connect } from '../src/connect.js';

const serve = (socket: string) => startMockQmpCli(['serve', '--trace', fixturePath('active-commit-pivot.jsonl'), '--socket', socket, '--instant']);
const record = (socket: string, dir: string) =>
  startMockQmpCli(['record', '--upstream', path.join(dir, 'none.sock'), '--socket', socket, '--out', path.join(dir, 'r.jsonl')]);

t.test('a regular file, a directory or a live socket at --socket is refused and kept', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'disk.qcow2');
  writeFileSync(file, Buffer.from('QFI\xfb precious image bytes', 'latin1'));
  const folder = path.join(dir, 'folder');
  mkdirSync(folder);
  const live = path.join(dir, 'live.sock');
  const other = net.createServer(() => undefined);
  await new Promise<void>((resolve) => other.listen(live, resolve));
  t.teardown(() => new Promise<void>((resolve) => other.close(() => resolve())));
  const cases = [
    [file, `${file} exists and is a regular file; refusing to remove it`],
    [folder, `${folder} exists and is a directory; refusing to remove it`],
    [live, 'another process is listening on it'],
  ] as const;
  for (const [target, reason] of cases) {
    for (const [verb, start] of [
      ['serve', () => serve(target)],
      ['record', () => record(target, dir)],
    ] as const) {
      const result = await finished(start(), 20_000);
      t.equal(result.code, 1, `${verb} ${path.basename(target)}: exit 1; stderr: ${result.stderr}`);
      t.equal(result.stderr, `mock-qmp: cannot listen on unix:${target}: ${reason}\n`, `${verb} ${path.basename(target)}: the error should say why`);
    }
  }
  t.equal(readFileSync(file, 'latin1'), 'QFI\xfb precious image bytes', 'the file should be untouched');
  t.ok(statSync(folder).isDirectory(), 'the directory should still be there');
  t.ok(statSync(live).isSocket(), 'the live socket should still be there');
});

t.test('a stale socket (its server died) is replaced and served', async (t) => {
  const dir = tempDir(t);
  const stale = path.join(dir, 'stale.sock');
  // A server that goes away without unlinking its socket, as a killed mock-qmp would.
  const first = serve(stale);
  await new Promise<void>((resolve) => first.stderr!.once('data', () => resolve()));
  first.kill('SIGKILL');
  await finished(first);
  t.ok(statSync(stale).isSocket(), 'the stale socket is left behind');
  const second = serve(stale);
  t.teardown(() => second.kill('SIGKILL'));
  const line = await new Promise<string>((resolve) => second.stderr!.setEncoding('utf8').once('data', (d: string) => resolve(d)));
  t.match(line, /^mock-qmp: serving /, 'the new server should start');
  const client = await connect({ path: stale });
  t.teardown(() => client.close());
  t.equal(client.greeting.QMP.version.qemu.major, 7, 'and answer on the replaced socket');
});
