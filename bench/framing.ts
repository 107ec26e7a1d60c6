// Framing throughput on a QMP stream captured live from QEMU: our LineFramer vs newline-split +
// JSON.parse (the baseline) vs json-stream-es, interleaved in one run.
import { StringDecoder } from 'node:string_decoder';
import { parseJsonStream } from 'json-stream-es';
import { LineFramer } from '../src/framing.js';
import { QemuProcess } from '../src/transport/qemu-process.js';
import { buildSeedChain, blockdevChainArgs } from '../test/helpers/chain.js';
import { captureRawStream } from '../test/helpers/raw-capture.js';
import { fmt, interleave, report, stats } from './common.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../src/connect.js';

/** Events, query-block-jobs replies during a running commit, and one query-qmp-schema reply, as QEMU sent them. */
export async function captureRealisticStream(): Promise<Buffer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qbj-bench-'));
  const layers = await buildSeedChain(dir);
  const qemu = await QemuProcess.start({ dir, args: blockdevChainArgs(layers) });
  try {
    await (await qemu.failIfExits(connect({ path: qemu.socketPath }))).close();
    const commands: object[] = [{ execute: 'qmp_capabilities' }, { execute: 'query-qmp-schema' }];
    commands.push({ execute: 'block-commit', arguments: { 'job-id': 'job0', device: 'n4', 'top-node': 'n3', 'base-node': 'n1', speed: 1024 } });
    for (let i = 0; i < 300; i++) commands.push({ execute: 'query-block-jobs', id: i });
    for (let i = 0; i < 50; i++) commands.push({ execute: i % 2 ? 'cont' : 'stop', id: `e${i}` });
    commands.push({ execute: 'block-job-cancel', arguments: { device: 'job0', force: true } }, { execute: 'query-status' });
    return await captureRawStream(qemu.socketPath, commands, 30_000);
  } finally {
    await qemu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function chunksOf(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += size) out.push(stream.subarray(i, i + size));
  return out;
}

function ours(chunks: Buffer[]): number {
  const framer = new LineFramer();
  let count = 0;
  for (const chunk of chunks) framer.push(chunk, () => count++);
  return count;
}

function baseline(chunks: Buffer[]): number {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let count = 0;
  for (const chunk of chunks) {
    const lines = (pending + decoder.write(chunk)).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines)
      if (line.trim()) {
        JSON.parse(line);
        count++;
      }
  }
  return count;
}

async function jsonStreamEs(chunks: Buffer[]): Promise<number> {
  const decoder = new StringDecoder('utf8');
  const source = new ReadableStream<string>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(decoder.write(chunk));
      controller.close();
    },
  });
  let count = 0;
  const reader = source.pipeThrough(parseJsonStream(undefined, { multi: true })).getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
    count++;
  }
  return count;
}

export async function benchFraming(full: boolean): Promise<void> {
  const stream = await captureRealisticStream();
  const chunks = chunksOf(stream, 64 * 1024);
  const expected = baseline(chunks);
  if (ours(chunks) !== expected || (await jsonStreamEs(chunks)) !== expected) throw new Error('parsers disagree on the message count');
  const mb = stream.length / 1e6;
  const repeat = 20;
  const timed = async (passes: number, run: () => unknown): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < passes; i++) await run();
    return (mb * passes) / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  const rounds = full ? 9 : 5;
  const samples = await interleave(rounds, {
    'newline split + JSON.parse (baseline)': () => timed(repeat, () => baseline(chunks)),
    'LineFramer (ours)': () => timed(repeat, () => ours(chunks)),
    'json-stream-es': () => timed(1, () => jsonStreamEs(chunks)),
  });
  const base = stats(samples['newline split + JSON.parse (baseline)']!).median;
  const rows = Object.entries(samples).map(([name, values]) => {
    const s = stats(values);
    return [name, fmt(s.median, 1), `${fmt(s.min, 1)}–${fmt(s.max, 1)}`, fmt(s.median / base, 3)];
  });
  report('Framing throughput', `npm run bench${full ? ' -- --full' : ''} (bench/framing.ts)`, ['parser', 'MB/s median', 'min–max', '× baseline'], rows, [
    `Stream: ${stream.length} bytes, ${expected} messages captured live from QEMU (query-qmp-schema reply, ${'block-commit'} job events, 300 query-block-jobs replies, 50 STOP/RESUME events), fed in 64 KiB chunks; ${rounds} interleaved rounds.`,
    'Goal: LineFramer ≥ 0.6 × baseline.',
  ]);
}
