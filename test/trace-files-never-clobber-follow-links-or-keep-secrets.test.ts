// --trace FILE and mock-qmp record --out create a new file, mode 0600: an existing file (a disk image!)
// or a symbolic link is refused and left untouched, --trace-append adds a session, and secrets
// (object-add secret data) are recorded as "<redacted>" unless --trace-secrets / --secrets.
import { readFileSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createImage } from '../src/internal.js';
import { readTrace } from '../mock-qmp/index.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { finished, runCli, startMockQmpCli } from './helpers/cli.js';

const secretArgs = ['qmp', 'object-add', 'qom-type=secret', 'id=sec0', 'data=hunter2'];

t.test('an existing file or a symbolic link is refused before anything is sent, and left as it was', async (t) => {
  const { qemu, client, dir } = await startQemu(t);
  await client.close();
  const image = path.join(dir, 'disk.qcow2');
  await createImage(image, { format: 'qcow2', size: '12M' });
  const link = path.join(dir, 'link.jsonl');
  symlinkSync(image, link);
  const before = readFileSync(image);
  const cases = [
    [image, [], `error: cannot write the trace to ${image}: it already exists; refusing to overwrite it (use --trace-append to add to it, or name a new file)`],
    [link, [], `error: cannot write the trace to ${link}: it is a symbolic link; refusing to follow it`],
    [link, ['--trace-append'], `error: cannot write the trace to ${link}: it is a symbolic link; refusing to follow it`],
  ] as const;
  for (const [target, extra, expected] of cases) {
    const result = await runCli(['--trace', target, ...extra, 'qmp', 'query-status', '--socket', qemu.socketPath], 20_000);
    t.equal(result.code, 1, `${path.basename(target)} ${extra.join(' ')}: exit 1`);
    t.match(result.stderr, expected, `${path.basename(target)} ${extra.join(' ')}: the error should say why`);
    t.equal(result.stdout, '', 'no command should have been run');
  }
  t.ok(readFileSync(image).equals(before), 'the image should be byte for byte what it was');
});

t.test('a new trace is mode 0600 with secrets redacted; --trace-secrets keeps them; --trace-append adds a session', async (t) => {
  const { qemu, client, dir } = await startQemu(t);
  await client.close();
  const trace = path.join(dir, 'session.jsonl');
  const first = await runCli(['--trace', trace, ...secretArgs, '--socket', qemu.socketPath]);
  t.equal(first.code, 0, `object-add should succeed; stderr: ${first.stderr}`);
  t.equal(statSync(trace).mode & 0o777, 0o600, 'the trace should be readable by its owner only');
  const text = readFileSync(trace, 'utf8');
  t.notMatch(text, /hunter2/, 'the secret should appear nowhere in the trace, header included');
  const recorded = readTrace(trace);
  t.equal(recorded.header?.secrets, 'redacted', 'the header should say secrets were redacted');
  const sent = recorded.messages.filter((m) => m.dir === 'out').map((m) => m.msg);
  t.same(
    sent.at(-1),
    { execute: 'object-add', arguments: { 'qom-type': 'secret', id: 'sec0', data: '<redacted>' }, id: 2 },
    'the command is kept, its data redacted',
  );

  const appended = await runCli(['--trace', trace, '--trace-append', 'qmp', 'query-status', '--socket', qemu.socketPath]);
  t.equal(appended.code, 0, `--trace-append should add to the trace; stderr: ${appended.stderr}`);
  const sessions = readFileSync(trace, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"qmp-trace"'));
  t.equal(sessions.length, 2, 'two sessions, each with its header');
  t.ok(readFileSync(trace, 'utf8').startsWith(text), 'the first session should be kept as it was');
  t.same(
    readTrace(trace).messages.map((m) => m.msg),
    recorded.messages.map((m) => m.msg),
    'a reader replays the first session',
  );

  const kept = path.join(dir, 'kept.jsonl');
  const withSecrets = await runCli(['--trace', kept, '--trace-secrets', ...secretArgs.slice(0, 3), 'id=sec1', 'data=hunter2', '--socket', qemu.socketPath]);
  t.equal(withSecrets.code, 0, `stderr: ${withSecrets.stderr}`);
  t.match(readFileSync(kept, 'utf8'), /"data":"hunter2"/, '--trace-secrets records the secret as sent');
  t.equal(readTrace(kept).header?.secrets, 'kept', 'and the header says so');
});

t.test('mock-qmp record --out refuses an existing file before listening; --force replaces it', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'existing.qcow2');
  await createImage(out, { format: 'qcow2', size: '1M' });
  const before = readFileSync(out);
  const record = (extra: string[]) =>
    startMockQmpCli(['record', '--upstream', path.join(dir, 'none.sock'), '--socket', path.join(dir, 'rec.sock'), '--out', out, ...extra]);
  const refused = await finished(record([]), 20_000);
  t.equal(refused.code, 1, 'refused: exit 1');
  t.match(
    refused.stderr,
    `cannot write the trace to ${out}: it already exists; refusing to overwrite it (use --force to replace it)`,
    'the error should say why',
  );
  t.ok(readFileSync(out).equals(before), 'the file should be untouched');
  const forced = record(['--force']);
  t.teardown(() => forced.kill('SIGKILL'));
  const done = finished(forced, 20_000);
  await new Promise<void>((resolve) => forced.stderr!.once('data', () => resolve()));
  forced.kill('SIGTERM');
  const result = await done;
  t.equal(result.code, 0, `with --force the recorder runs; stderr: ${result.stderr}`);
  t.match(result.stderr, /recording/, 'it should have started recording');
});
