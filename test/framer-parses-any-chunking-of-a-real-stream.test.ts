// The framer gives the same messages however the byte stream is cut: at every position of a small
// stream, around every line end and multi-byte character of a large one, and byte by byte.
import { readdirSync, readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { LineFramer, MalformedMessageError, OversizedMessageError, type QmpMessage } from '../src/internal.js';
import { startQemu, tempDir, fixturePath, fixtureSets } from './helpers/qemu.js';
import { buildSeedChain, blockdevChainArgs } from './helpers/chain.js';
import { captureRawStream } from './helpers/raw-capture.js';

function parseAll(chunks: Buffer[], max?: number): QmpMessage[] {
  const framer = new LineFramer(max);
  const out: QmpMessage[] = [];
  for (const chunk of chunks) framer.push(chunk, (m) => out.push(m));
  return out;
}

/** Streams up to 4 KiB: every position. Larger ones (a recorded schema): every position within 8
 * bytes of each line end and of each non-ASCII byte, where a cut can matter, and elsewhere every 61st,
 * or about 500 evenly spaced in a stream over 30 KiB (each cut re-parses the whole stream: a 200 KB
 * schema at every 61st byte cost 3,600 parses of 200 KB, per set and per stack). */
function cutPositions(stream: Buffer): number[] {
  if (stream.length <= 4 * 1024) return Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
  const step = Math.max(61, Math.floor(stream.length / 500));
  const cuts = new Set<number>();
  for (let i = 0; i < stream.length; i++) {
    if (stream[i] === 0x0a || stream[i]! >= 0x80) for (let d = -8; d <= 8; d++) cuts.add(i + d);
    if (i % step === 0) cuts.add(i);
  }
  return [...cuts].filter((c) => c >= 1 && c < stream.length).sort((a, b) => a - b);
}

function checkEverySplit(t: Test, stream: Buffer, label: string): void {
  const whole = parseAll([stream]);
  t.ok(whole.length > 0, `${label}: the stream should hold messages`);
  let mismatches = 0;
  const cuts = cutPositions(stream);
  const expected = JSON.stringify(whole);
  for (const cut of cuts) {
    const parts = parseAll([stream.subarray(0, cut), stream.subarray(cut)]);
    if (JSON.stringify(parts) !== expected) mismatches++;
  }
  t.equal(mismatches, 0, `${label}: splitting at ${mismatches} of ${cuts.length} positions changed the messages`);
  const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
  t.same(parseAll(bytes), whole, `${label}: one byte at a time should give the same messages`);
}

t.test('a stream captured live from QEMU splits cleanly everywhere', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { qemu, client } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });
  await client.close(); // free the monitor for the raw capture
  const stream = await captureRawStream(qemu.socketPath, [
    { execute: 'qmp_capabilities' },
    { execute: 'query-named-block-nodes', id: 'nodes' },
    { execute: 'stop', id: 1 },
    { execute: 'cont', id: 2 },
    { execute: 'block-job-complete', arguments: { device: 'none' }, id: 'err' },
    { execute: 'query-status', id: 'last' },
  ]);
  t.ok(stream.includes('\r\n'), 'QEMU should end its messages with CRLF');
  const messages = parseAll([stream]);
  t.ok(
    messages.some((m) => m.event === 'STOP'),
    'the capture should include an event',
  );
  t.ok(
    messages.some((m) => 'error' in m),
    'the capture should include an error reply',
  );
  checkEverySplit(t, stream, 'live capture');
});

t.test('every recorded fixture splits cleanly everywhere', (t) => {
  const files = fixtureSets().flatMap((set) =>
    readdirSync(fixturePath('', set))
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => fixturePath(f, set)),
  );
  for (const file of files) {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim());
    const incoming = lines
      .map((l) => JSON.parse(l) as { dir?: string; msg?: unknown })
      .filter((r) => r.dir === 'in')
      .map((r) => `${JSON.stringify(r.msg)}\r\n`)
      .join('');
    if (incoming.length) checkEverySplit(t, Buffer.from(incoming), file);
  }
  t.pass(`${files.length} fixture files checked`);
  t.end();
});

t.test('a multi-byte UTF-8 character cut in half survives', (t) => {
  const stream = Buffer.from('{"return": "dïsk-€-😀.qcow2", "id": 1}\r\n', 'utf8');
  checkEverySplit(t, stream, 'utf-8');
  t.equal(parseAll([stream])[0]?.return, 'dïsk-€-😀.qcow2', 'the text should decode intact');
  t.end();
});

t.test('a message over the limit is a ProtocolError (OversizedMessageError), whole or in pieces', (t) => {
  const big = Buffer.from(`{"return": "${'x'.repeat(2000)}"}\r\n`);
  t.throws(() => parseAll([big], 1024), OversizedMessageError, 'a whole oversized line should be refused');
  const pieces = Array.from({ length: 40 }, (_, i) => big.subarray(i * 50, i * 50 + 50));
  t.throws(() => parseAll(pieces, 1024), OversizedMessageError, 'an oversized line arriving in pieces should be refused before it is complete');
  const framer = new LineFramer(1024);
  try {
    framer.push(big.subarray(0, 1500), () => {});
  } catch {
    /* expected */
  }
  t.equal(framer.bufferedBytes, 0, 'the framer should not keep the oversized bytes');
  t.end();
});

t.test('malformed JSON and non-objects are ProtocolErrors (MalformedMessageError)', (t) => {
  t.throws(() => parseAll([Buffer.from('{"return": \r\n')]), MalformedMessageError, 'truncated JSON should be refused');
  t.throws(() => parseAll([Buffer.from('[1,2]\r\n')]), MalformedMessageError, 'an array should be refused');
  t.throws(() => parseAll([Buffer.from('42\r\n')]), MalformedMessageError, 'a number should be refused');
  t.same(parseAll([Buffer.from('\r\n\r\n{"a":1}\r\n')]), [{ a: 1 }], 'blank lines should be skipped');
  t.end();
});
