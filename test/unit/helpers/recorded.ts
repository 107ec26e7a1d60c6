// Reading recorded QEMU traffic for the unit tier: the replies QEMU gave to a client's commands, as
// `npm run record-fixtures` captured them (never typed by hand). No QEMU is started.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fixturePath, fixtureSets as qemuFixtureSets } from '../../helpers/qemu.js';
import type { InputCase } from '../../helpers/qmp-input.js';

interface Line {
  dir?: 'in' | 'out';
  msg?: Record<string, unknown>;
}

/** Every fixture set (test/fixtures/qemu-<version>/, oldest QEMU first), as name and folder. */
export function fixtureSets(): Array<{ name: string; dir: string }> {
  return qemuFixtureSets().map((name) => ({ name, dir: fixturePath('', name) }));
}

/** The recorded replies to `command` in `file`, in order (the `return` values). */
export function recordedReturns(file: string, command: string): unknown[] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);
  const ids = new Set(lines.filter((l) => l.dir === 'out' && l.msg?.execute === command).map((l) => JSON.stringify(l.msg?.id)));
  return lines.filter((l) => l.dir === 'in' && l.msg && 'return' in l.msg && ids.has(JSON.stringify(l.msg.id))).map((l) => l.msg?.return);
}

/** The recorded events (as QEMU sent them) in `file`. */
export function recordedEventMessages(
  file: string,
): Array<{ event: string; data: Record<string, unknown>; timestamp: { seconds: number; microseconds: number } }> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.dir === 'in' && l.msg && 'event' in l.msg)
    .map((l) => l.msg as unknown as { event: string; data: Record<string, unknown>; timestamp: { seconds: number; microseconds: number } });
}

export function fixtureFile(set: { dir: string }, name: string): string | undefined {
  const file = path.join(set.dir, name);
  return existsSync(file) ? file : undefined;
}

/** Every fixture set's recorded client-input cases (qmp-input.json), where the set has them. */
export function recordedInputSets(): Array<{ qemu: string; cases: InputCase[] }> {
  return fixtureSets().flatMap((set) => {
    const file = path.join(set.dir, 'qmp-input.json');
    return existsSync(file) ? [JSON.parse(readFileSync(file, 'utf8')) as { qemu: string; cases: InputCase[] }] : [];
  });
}
