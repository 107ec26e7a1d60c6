// mock-qmp reads client input as QEMU does: JSON values back to back without newlines, in any chunking.
import net from 'node:net';
import t from 'tap';
import { fixturePath } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';

/** Sends `chunks` (waiting a turn of the event loop between them) and collects reply lines until `replies` replies came. */
function talk(path: string, chunks: readonly string[], replies: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const got: Array<Record<string, unknown>> = [];
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${got.length} of ${replies} replies within 5 s: ${JSON.stringify(got)}`));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      text += data;
      let nl: number;
      while ((nl = text.indexOf('\n')) !== -1) {
        const message = JSON.parse(text.slice(0, nl)) as Record<string, unknown>;
        text = text.slice(nl + 1);
        if ('return' in message || 'error' in message) got.push(message);
        if (got.length === replies) {
          clearTimeout(timer);
          socket.destroy();
          resolve(got);
        }
      }
    });
    socket.once('connect', async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        await new Promise((r) => setImmediate(r));
      }
    });
    socket.on('error', reject);
  });
}

const input = '{"execute":"qmp_capabilities","id":1}{"execute": "query-block-jobs", "id": {"mine": [1, "x"]}}  {"execute":"query-block-jobs"}';

t.test('back-to-back JSON values in one write are three commands', async (t) => {
  const server = await serveTrace(t, { trace: readTrace(fixturePath('active-commit-pivot.jsonl')), instant: true });
  const replies = await talk(server.path!, [input], 3);
  t.same(
    replies.map((r) => r.id),
    [1, { mine: [1, 'x'] }, undefined],
    "each reply should carry its command's own id (or none)",
  );
  t.notOk('id' in replies[2]!, 'a command without id should get a reply without id');
});

t.test('the same input one byte at a time gives the same replies', async (t) => {
  const server = await serveTrace(t, { trace: readTrace(fixturePath('active-commit-pivot.jsonl')), instant: true });
  const whole = await talk(server.path!, [input], 3);
  const server2 = await serveTrace(t, { trace: readTrace(fixturePath('active-commit-pivot.jsonl')), instant: true });
  const bytewise = await talk(server2.path!, [...input], 3);
  t.same(bytewise, whole, 'byte-by-byte input should be parsed exactly like whole input');
});
