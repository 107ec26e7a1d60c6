// A client of a share handed to another process (src/share/keeper.ts) may be in the middle of a
// value, or skipping bad input: QmpInputReader.unfinished() gives what a new reader needs to go on.
// For every recorded input case (what QEMU did with it: test/fixtures/qemu-*/qmp-input.json), cut at
// every byte and carried over to a new reader, the requests and refusals are those of one reader.
import t from 'tap';
import { jsonDialectOf } from '../../src/json-stream.js';
import { QmpInputReader, type QmpRefusal, type QmpRequest } from '../../src/protocol/request.js';
import { recordedInputSets } from './helpers/recorded.js';
import { inputBytes } from '../helpers/qmp-input.js';

const seenOf =
  (into: unknown[]) =>
  (r: QmpRequest | QmpRefusal): void => {
    into.push('refusal' in r ? { refused: r.refusal } : { ran: r.command, args: r.arguments ?? null, id: r.hasId ? r.id : null });
  };

let cases = 0;
for (const recorded of recordedInputSets()) {
  t.test(`QEMU ${recorded.qemu}`, async (t) => {
    // The dialect of the QEMU that answered (its version, as recorded).
    const dialect = jsonDialectOf({ major: Number(recorded.qemu.split('.')[0]) });
    for (const c of recorded.cases) {
      const total = Buffer.concat(c.writes.map((w) => inputBytes(w)));
      if (total.length > 512) continue;
      cases++;
      const whole: unknown[] = [];
      new QmpInputReader(seenOf(whole), () => c.oob === true, { dialect }).push(total);
      let wrong: number | undefined;
      for (let cut = 0; cut <= total.length && wrong === undefined; cut++) {
        const seen: unknown[] = [];
        const first = new QmpInputReader(seenOf(seen), () => c.oob === true, { dialect });
        first.push(total.subarray(0, cut));
        const second = new QmpInputReader(seenOf(seen), () => c.oob === true, { dialect, from: first.unfinished() });
        second.push(total.subarray(cut));
        if (JSON.stringify(seen) !== JSON.stringify(whole)) wrong = cut;
      }
      t.equal(wrong, undefined, `${c.name}: cut at any byte and handed over (wrong: the first such byte), a new reader goes on as one reader would`);
    }
  });
}

t.test('there were cases to hand over', async (t) => {
  t.ok(cases > 10, `${cases} recorded cases`);
});
