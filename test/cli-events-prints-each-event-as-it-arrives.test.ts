// `qmp-blockjob events` streams events live: human lines like virsh --timestamp, or one JSON object per line.
import path from 'node:path';
import t from 'tap';
import { startQemu, tempDir } from './helpers/qemu.js';
import { finished, startCli, waitForLine } from './helpers/cli.js';
import { connect } from '../src/connect.js';

t.test('events --count 2 --json prints STOP and RESUME caused through a second monitor', async (t) => {
  const dir = tempDir(t);
  const second = path.join(dir, 'm2.sock');
  const { qemu, client } = await startQemu(t, { dir, args: ['-chardev', `socket,id=m2,path=${second},server=on,wait=off`, '-mon', 'chardev=m2,mode=control'] });
  await client.close();
  const child = startCli(['events', '--socket', qemu.socketPath, '--json', '--count', '2', '--filter', 'stop', '--filter', 'RESUME']);
  t.teardown(() => child.kill('SIGKILL'));
  await waitForLine(child, (line) => line.includes('"listening"'));
  const other = await connect({ path: second });
  t.teardown(() => other.close());
  const done = finished(child);
  await other.execute('stop');
  await other.execute('cont');
  const result = await done;
  t.equal(result.code, 0, `exit 0 after --count events; stderr: ${result.stderr}`);
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; event?: string; timestamp?: unknown });
  t.same(
    lines.filter((l) => l.type === 'event').map((l) => l.event),
    ['STOP', 'RESUME'],
    'both events should be printed in order',
  );
  t.ok(
    lines.every((l) => l.type !== 'event' || l.timestamp),
    'every event should carry its timestamp',
  );
});

t.test('events without --json prints virsh-style lines and stops on SIGINT', async (t) => {
  const dir = tempDir(t);
  const second = path.join(dir, 'm2.sock');
  const { qemu, client } = await startQemu(t, { dir, args: ['-chardev', `socket,id=m2,path=${second},server=on,wait=off`, '-mon', 'chardev=m2,mode=control'] });
  await client.close();
  const child = startCli(['events', '--socket', qemu.socketPath]);
  t.teardown(() => child.kill('SIGKILL'));
  const other = await connect({ path: second });
  t.teardown(() => other.close());
  // Without --json there is no "listening" line: repeat stop/cont until one STOP line shows.
  const seen = waitForLine(child, (line) => / event STOP: <null>$/.test(line));
  const poke = setInterval(() => {
    void other
      .execute('stop')
      .then(() => other.execute('cont'))
      .catch(() => undefined);
  }, 50);
  const line = await seen.finally(() => clearInterval(poke));
  t.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: event STOP: <null>$/, 'line should look like virsh qemu-monitor-event --timestamp');
  const done = finished(child);
  child.kill('SIGINT');
  const result = await done;
  t.equal(result.code, 0, 'SIGINT should end the loop with exit 0');
  t.match(result.stderr, /event loop interrupted\nevents received: \d+/, 'should report how many events it printed, as virsh does');
});
