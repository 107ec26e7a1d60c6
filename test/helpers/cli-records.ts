/*
 * Every `--json` line a test sees is checked against the shipped schema (schema/cli-records.schema.json,
 * made from src/cli/records.ts): a record the schema does not describe fails the test that saw it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { repoRoot } from './qemu.js';

let validate: ValidateFunction | undefined;

function validator(): ValidateFunction {
  validate ??= new Ajv({ allErrors: true, strict: false }).compile(
    JSON.parse(readFileSync(path.join(repoRoot, 'schema', 'cli-records.schema.json'), 'utf8')) as object,
  );
  return validate;
}

/** One `--json` line as a record; throws, naming the line and what does not fit, unless the schema describes it. */
export function cliRecord(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new Error(`--json printed a line that is not JSON: ${line.slice(0, 300)} (${(error as Error).message})`);
  }
  const check = validator();
  if (!check(value)) {
    // anyOf reports every branch; the branch of the line's own `type` says what is wrong.
    const type = (value as { type?: unknown } | null)?.type;
    const errors = (check.errors ?? []).map(
      (e) =>
        `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''} (${e.schemaPath})`,
    );
    const own = errors.filter((e) => typeof type === 'string' && e.includes(`${type[0]!.toUpperCase()}${type.slice(1)}`));
    throw new Error(
      `--json line does not fit schema/cli-records.schema.json (type ${JSON.stringify(type)}): ${line.slice(0, 300)}\n  ${(own.length ? own : errors).slice(0, 8).join('\n  ')}`,
    );
  }
  return value as Record<string, unknown>;
}

/** Every complete line of a `--json` stdout, each checked (a last line cut short by a closed pipe is left out). */
export function cliRecords(stdout: string): Array<Record<string, unknown>> {
  const lines = stdout.split('\n');
  lines.pop(); // after the last newline: empty, or a line the command did not finish
  return lines.filter((line) => line.trim() !== '').map(cliRecord);
}
