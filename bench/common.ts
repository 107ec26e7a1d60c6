// Shared pieces of the benchmarks: interleaved runs, statistics, machine description, report file.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const reportPath = path.join(repoRoot, 'docs', 'benchmarks.md');

export interface Stats {
  median: number;
  min: number;
  max: number;
  p50: number;
  p99: number;
  n: number;
}

export function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
  return { median: at(0.5), min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, p50: at(0.5), p99: at(0.99), n: sorted.length };
}

/**
 * Runs each variant `rounds` times, interleaved A, B, C, A, B, C … so that a noisy neighbour
 * slows all variants alike. Returns the samples per variant name.
 */
export async function interleave(rounds: number, variants: Record<string, () => Promise<number> | number>): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(variants)) samples[name] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(variants)) samples[name]!.push(await run());
  }
  return samples;
}

function tryRun(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]!
      .trim();
  } catch {
    return 'not installed';
  }
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}`,
    `node ${process.version}; ${tryRun('qemu-system-x86_64', ['--version'])}; libvirt: ${tryRun('virsh', ['--version'])}`,
  ].join('\n');
}

/** The machine's load while a bench ran (other work may share it; interleaving spreads that over all variants). */
export function loadNote(): string {
  const [one, five] = os.loadavg();
  return `Load average during the run: ${fmt(one ?? NaN)} (1 min), ${fmt(five ?? NaN)} (5 min) on ${os.cpus().length} cores.`;
}

/** One line stating a goal, the measured value and whether it was met. */
export function verdict(goal: string, met: boolean, measured: string): string {
  return `**Goal:** ${goal} — measured ${measured}: **${met ? 'met' : 'NOT met'}**.`;
}

export const fmt = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : '–');

const REPORT_HEADER = `# Benchmarks

One run of \`npm run bench\` (the short default set; \`npm run bench -- --full\` runs longer and uses the issue's
sizes). A full run rewrites this file; \`--only=name\` appends. Variants are interleaved (A, B, A, B …) so that a
noisy neighbour slows all of them alike; each table gives medians and min–max of at least 5 runs, the ratios to
the floor, the machine load, and beside it each goal with **met** / **NOT met**.

Goals (issue #7): framing and round trip ≤ 1.1 × a raw newline-split client; READY → job-complete
reaction p99 ≤ 1 ms; the seed procedure end to end ≤ 1.1 × a raw-socket script and below virsh, with the
controller's own cost ≤ 50 ms + node start-up; 64 concurrent commits from one process all pivot, reaction
p99 ≤ 10 ms, peak RSS ≤ 100 MB. Issue #18: the CLI's own cost ≤ node start-up + 30 ms for
\`commit --active --pivot\`, + 20 ms for \`blocks\`/\`chain\`/\`jobs\`; the \`--domain\` connect's median
≤ 120 ms, its event stream proven live in one probe round.
`;

/** Starts a fresh report (a full run replaces the previous one). */
export function resetReport(): void {
  writeFileSync(reportPath, REPORT_HEADER);
}

/** Prints a table and appends it to docs/benchmarks.md with the machine and the command. */
export function report(title: string, command: string, header: string[], rows: string[][], notes: string[] = []): void {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const table = [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
  process.stdout.write(`\n## ${title}\n${table}\n${notes.map((n) => `${n}\n`).join('')}`);
  if (!existsSync(reportPath)) writeFileSync(reportPath, REPORT_HEADER);
  const when = new Date().toISOString();
  appendFileSync(
    reportPath,
    `\n## ${title} — ${when}\n\nCommand: \`${command}\`  \nMachine: ${machine().replace('\n', '  \n')}\n\n${table}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`,
  );
}
