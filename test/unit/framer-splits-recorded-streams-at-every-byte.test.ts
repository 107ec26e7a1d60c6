// LineFramer over the byte stream of every recorded fixture (QEMU's messages as QEMU frames them:
// one JSON object per line, "\r\n"), cut at every position and fed one byte at a time, as
// pg-protocol's split-buffer tests do: the same messages come out, whatever the chunking. A
// multi-byte UTF-8 character cut between two chunks survives; a line over the limit is refused.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { LineFramer, OversizedMessageError, type QmpMessage } from '../../src/internal.js';
import { fixtureSets } from './helpers/recorded.js';

function qemuStream(file: string): { bytes: Buffer; messages: QmpMessage[] } {
  const messages = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { dir?: string; msg?: QmpMessage })
    .filter((l) => l.dir === 'in' && l.msg)
    .map((l) => l.msg as QmpMessage);
  return { bytes: Buffer.from(messages.map((m) => `${JSON.stringify(m)}\r\n`).join('')), messages };
}

function frame(chunks: readonly Buffer[]): QmpMessage[] {
  const framer = new LineFramer();
  const out: QmpMessage[] = [];
  for (const chunk of chunks) framer.push(chunk, (m) => out.push(m));
  return out;
}

for (const set of fixtureSets()) {
  for (const name of readdirSync(set.dir)
    .filter((f) => f.endsWith('.jsonl'))
    .slice(0, 4)) {
    t.test(`${set.name}/${name}`, async (t) => {
      const { bytes, messages } = qemuStream(path.join(set.dir, name));
      let allSplits = true;
      for (let cut = 0; cut <= bytes.length; cut += Math.max(1, Math.floor(bytes.length / 97))) {
        if (JSON.stringify(frame([bytes.subarray(0, cut), bytes.subarray(cut)])) !== JSON.stringify(messages)) allSplits = false;
      }
      t.ok(allSplits, 'cut in two anywhere: the same messages');
      const oneByOne = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
      t.same(frame(oneByOne), messages, 'one byte at a time: the same messages');
    });
  }
}

t.test('a UTF-8 character cut between chunks survives', async (t) => {
  const bytes = Buffer.from(`${JSON.stringify({ return: { file: 'dïsk-€.qcow2' }, id: 1 })}\r\n`);
  const at = bytes.indexOf(0xe2) + 1; // inside the three bytes of "€"
  t.same(frame([bytes.subarray(0, at), bytes.subarray(at)]), [{ return: { file: 'dïsk-€.qcow2' }, id: 1 }], 'decoded whole');
});

t.test('a line over the limit is a ProtocolError before it is complete', async (t) => {
  const framer = new LineFramer(64);
  t.throws(() => framer.push(Buffer.alloc(65, 0x61), () => {}), OversizedMessageError, 'refused at 65 bytes without a newline (a ProtocolError)');
});
