// The reader of client input that share and mock-qmp use (QmpInputReader) against what QEMU's
// monitor did with the same bytes (test/fixtures/qemu-*/qmp-input.json, recorded by
// scripts/measure-qmp-input.py): every refusal QEMU gave before running anything (JSON parse errors,
// "QMP input …", its limits) comes out with the same text, in the same place among the requests
// QEMU ran, whatever the chunking (as recorded, and one byte at a time).
import t from 'tap';
import { jsonDialectOf, type JsonDialect } from '../../src/json-stream.js';
import { QmpInputReader, type QmpRefusal, type QmpRequest } from '../../src/protocol/request.js';
import { recordedInputSets } from './helpers/recorded.js';
import { inputBytes, type InputCase } from '../helpers/qmp-input.js';

/** What QEMU answered before dispatch (the reader's part); anything else was a request QEMU ran. */
const readerRefusal = (desc: string): boolean => /^(\d+:\d+: )?(JSON |QMP input )/.test(desc);

type Seen = { refused: unknown } | { ran: unknown };

function expected(c: InputCase): Seen[] {
  return c.replies.map((reply) => {
    const error = reply.error as { desc?: string } | undefined;
    if (error?.desc !== undefined && readerRefusal(error.desc)) return { refused: reply };
    return { ran: 'id' in reply ? reply.id : null };
  });
}

function read(chunks: readonly Buffer[], oob: boolean, dialect: JsonDialect): Seen[] {
  const seen: Seen[] = [];
  const reader = new QmpInputReader(
    (r: QmpRequest | QmpRefusal) => {
      seen.push('refusal' in r ? { refused: r.refusal } : { ran: r.hasId ? r.id : null });
    },
    () => oob,
    { dialect },
  );
  for (const chunk of chunks) reader.push(chunk);
  return seen;
}

for (const recorded of recordedInputSets()) {
  t.test(`QEMU ${recorded.qemu}`, async (t) => {
    // The dialect of the QEMU that answered (its version, as recorded), as share takes its QEMU's.
    const dialect = jsonDialectOf({ major: Number(recorded.qemu.split('.')[0]) });
    for (const c of recorded.cases) {
      // The negotiation before the case is the reader's too: QEMU answered it, not shown in `replies`
      // (it is line 1 of the connection, where QEMU 11 counts lines from).
      const writes = [Buffer.from(`{"execute":"qmp_capabilities"${c.oob ? ',"arguments":{"enable":["oob"]}' : ''}}\n`), ...c.writes.map((w) => inputBytes(w))];
      if (c.negotiate === false) writes.shift();
      const want = c.negotiate === false ? expected(c) : [{ ran: null }, ...expected(c)];
      const got = read(writes, c.oob === true, dialect);
      // A few hundred refusals (the nesting-limit case) are compared whole, but reported briefly.
      t.same(got, want, `${c.name}: the reader should refuse and pass on what QEMU did, in order`);
      const total = Buffer.concat(writes);
      if (total.length < 4096) {
        const bytes = Array.from({ length: total.length }, (_, i) => total.subarray(i, i + 1));
        t.same(read(bytes, c.oob === true, dialect), want, `${c.name}: one byte at a time, the same`);
      }
    }
  });
}

t.test("a client that never closes its brace holds at most QEMU's 64 MiB, then is refused as QEMU refuses it", async (t) => {
  const seen: Array<QmpRequest | QmpRefusal> = [];
  const reader = new QmpInputReader(
    (r) => seen.push(r),
    () => false,
  );
  reader.push(Buffer.from('{"execute":"query-name","arguments":{"x":['));
  const chunk = Buffer.from(`"${'a'.repeat(4000)}",`.repeat(16));
  let most = 0;
  while (seen.length === 0) {
    reader.push(chunk);
    most = Math.max(most, reader.pendingBytes);
  }
  t.ok(most <= 64 * 1024 * 1024, `held ${most} bytes at most`);
  const first = seen[0]!;
  t.equal('refusal' in first ? first.refusal.error.desc : first.command, 'JSON token size limit exceeded', 'refused by size, as QEMU');
});
