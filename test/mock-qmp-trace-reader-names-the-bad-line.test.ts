// A malformed trace is refused with a TraceFormatError that names the line.
import t from 'tap';
import { parseTrace, TraceFormatError } from '../mock-qmp/index.js';

const greeting = '{"t":0,"dir":"in","msg":{"QMP":{"version":{"qemu":{"major":7,"minor":2,"micro":0},"package":""},"capabilities":[]}}}';

t.test('bad lines are reported by number', async (t) => {
  const cases: Array<[string, number, RegExp]> = [
    [`${greeting}\n{"t":1,"dir":"sideways","msg":{}}`, 2, /"dir"/],
    [`${greeting}\nnot json`, 2, /not JSON/],
    [`{"qmp-trace":1}\n${greeting}\n{"t":0.5,"dir":"out","msg":[]}`, 3, /"msg"/],
    [`${greeting}\n{"t":2,"dir":"out","msg":{}}\n{"t":1,"dir":"in","msg":{}}`, 3, /backwards/],
    ['{"t":0,"dir":"out","msg":{"execute":"x"}}', 1, /greeting/],
    [`{"qmp-trace":2}\n${greeting}`, 1, /version/],
  ];
  for (const [text, line, reason] of cases) {
    const error = (() => {
      try {
        parseTrace(text, 'x.jsonl');
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    t.ok(error instanceof TraceFormatError, `expected a TraceFormatError for ${JSON.stringify(text.slice(-40))}`);
    t.equal((error as TraceFormatError).line, line, `the error should name line ${line}: ${(error as Error).message}`);
    t.match((error as Error).message, reason, 'the message should say what is wrong');
  }
  t.equal(parseTrace(`{"qmp-trace":1}\n${greeting}\n{"t":1,"end":"qemu"}`).end?.end, 'qemu', 'a valid trace with an end line parses');
});
