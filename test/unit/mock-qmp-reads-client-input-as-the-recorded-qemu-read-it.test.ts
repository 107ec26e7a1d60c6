// mock-qmp reads its clients' input as the QEMU that recorded its trace read it: for each fixture set,
// a model of that set's raw transcript gets every malformed client-input case of the same set
// (qmp-input.json, measured against that QEMU) on a connection of its own, and refuses exactly what
// QEMU refused, with QEMU's words (QEMU 11's "line:column: " included), in the same order. The dialect
// comes from the trace's greeting, as share takes it from its QEMU's.
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { startMockQmp } from '../../mock-qmp/index.js';
import { recordedInputSets, fixtureSets } from './helpers/recorded.js';
import { inputBytes, type InputCase } from '../helpers/qmp-input.js';
import { onJsonLines } from '../helpers/json-lines.js';

/** A refusal before dispatch (the reader's part); anything else was a command the server ran. */
const readerRefusal = (reply: Record<string, unknown>): string | undefined => {
  const desc = (reply.error as { desc?: string } | undefined)?.desc;
  return desc !== undefined && /^(\d+:\d+: )?(JSON |QMP input )/.test(desc) ? desc : undefined;
};
/** What a reply says of the reader: the refusal's words, or "ran" with the command's id. */
const shape = (reply: Record<string, unknown>): string => readerRefusal(reply) ?? `ran ${JSON.stringify(reply.id ?? null)}`;

function runCase(address: string, c: InputCase): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(address);
    const replies: string[] = [];
    let greeted = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${c.name}: no EOF within 20 s`));
    }, 20_000);
    onJsonLines(socket, (message) => {
      if (!greeted) {
        greeted = true;
        socket.write('{"execute":"qmp_capabilities"}\n');
        return;
      }
      replies.push(shape(message));
    });
    const send = async (): Promise<void> => {
      for (const write of c.writes) await new Promise<void>((done) => socket.write(inputBytes(write), () => done()));
      socket.end();
    };
    socket.once('data', () => void send());
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

const sets = fixtureSets();
for (const recorded of recordedInputSets()) {
  const set = sets.find((s) => s.name === `qemu-${recorded.qemu.split('.').slice(0, 2).join('.')}`);
  if (!set) continue;
  t.test(`QEMU ${recorded.qemu}: mock-qmp refuses each malformed case as QEMU did`, async (t) => {
    const mock = await startMockQmp({ trace: path.join(set.dir, 'raw', 'active-commit-pivot.jsonl'), model: true, instant: true });
    t.teardown(() => mock.close());
    const cases = recorded.cases.filter((c) => c.name.startsWith('malformed:') && c.negotiate !== false && !c.oob && c.close !== true);
    t.ok(cases.length > 20, `${cases.length} malformed cases`);
    for (const c of cases) {
      const got = await runCase((mock.address as { path: string }).path, c);
      // The negotiation's own answer comes first; QEMU's `replies` start after it.
      t.same(got.slice(1), c.replies.map(shape), `${c.name}: refused as QEMU ${recorded.qemu} refused it, in order`);
    }
  });
}
