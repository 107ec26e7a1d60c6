// `share --listen` in front of a real QEMU answers each client-input case of
// test/fixtures/qemu-<this QEMU>/qmp-input.json (values with or without newlines, several in one
// chunk, split anywhere, CRLF, non-ASCII, malformed input and QEMU's limits) with the replies QEMU's
// own monitor gave to the same bytes, in the same order, and keeps the connection where QEMU kept it.
// Each case ends with the client's EOF: what it sent before is answered, then share closes, as QEMU.
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { extraMonitorArgs, finished, startCli, waitForLine } from './helpers/cli.js';
import { fixturePath, startQemu, tempDir } from './helpers/qemu.js';
import { inputBytes, type InputCase } from './helpers/qmp-input.js';
import { onJsonLines } from './helpers/json-lines.js';

/** Runs one case on a fresh connection: every reply after negotiation, until the server closes. */
function runCase(socketPath: string, c: InputCase): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const replies: Array<Record<string, unknown>> = [];
    let stage: 'greeting' | 'negotiating' | 'case' = 'greeting';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${c.name}: no EOF within 60 s; replies so far ${JSON.stringify(replies).slice(0, 300)}`));
    }, 60_000);
    const send = async (): Promise<void> => {
      stage = 'case';
      for (const write of c.writes) await new Promise<void>((done) => socket.write(inputBytes(write), () => done()));
      socket.end();
    };
    onJsonLines(socket, (message) => {
      if (stage === 'greeting') {
        if (c.negotiate === false) void send();
        else {
          stage = 'negotiating';
          socket.write(`{"execute":"qmp_capabilities"${c.oob ? ',"arguments":{"enable":["oob"]}' : ''}}\n`);
        }
      } else if (stage === 'negotiating') {
        if (!('return' in message)) reject(new Error(`${c.name}: negotiation refused: ${JSON.stringify(message)}`));
        void send();
      } else {
        delete message.timestamp;
        replies.push(message);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(replies);
    });
  });
}

t.test('share answers client input as the QEMU behind it does', async (t) => {
  const dir = tempDir(t);
  const upstream = path.join(dir, 'cli.sock');
  const shared = path.join(dir, 'shared.sock');
  const { client } = await startQemu(t, { dir, args: extraMonitorArgs(upstream) });
  const { major, minor } = client.greeting.QMP.version.qemu;
  const file = fixturePath('qmp-input.json', `qemu-${major}.${minor}`);
  if (!existsSync(file)) {
    t.fail(`no recorded input cases for QEMU ${major}.${minor}: record them with scripts/measure-qmp-input.py`);
    return;
  }
  const recorded = JSON.parse(readFileSync(file, 'utf8')) as { cases: InputCase[] };
  const holder = startCli(['share', '--listen', shared, '--socket', upstream]);
  t.teardown(() => holder.kill('SIGKILL'));
  const done = finished(holder, 300_000);
  await waitForLine(holder, (line) => line.startsWith('Sharing '));
  for (const c of recorded.cases) {
    // share offers OOB only where its own connection negotiated it, which qmp-blockjob does not.
    if (c.oob) {
      t.comment(`${c.name}: skipped, share offers no OOB`);
      continue;
    }
    t.same(await runCase(shared, c), c.replies, `${c.name}: the replies QEMU gave`);
  }
  holder.kill('SIGTERM');
  await done;
});
