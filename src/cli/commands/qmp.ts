import { QmpCommandError } from '../../errors.js';
import { UsageError } from '../args.js';
import type { CommandSpec } from '../context.js';

/** `qmp '{"execute": …}'`, `qmp NAME`, `qmp NAME '{args}'` or `qmp NAME key=value …` (as qmp-shell). */
export function parseQmpInvocation(positionals: readonly string[]): { name: string; args: Record<string, unknown> | undefined } {
  const [first, ...rest] = positionals;
  if (first === undefined) throw new UsageError('qmp wants a command: a JSON object or a command name', 'qmp');
  if (first.trim().startsWith('{')) {
    if (rest.length) throw new UsageError('after a JSON command nothing else may follow', 'qmp');
    let parsed: unknown;
    try {
      parsed = JSON.parse(first);
    } catch (error) {
      throw new UsageError(`not valid JSON: ${(error as Error).message}`, 'qmp');
    }
    const command = parsed as { execute?: unknown; arguments?: unknown };
    if (typeof command.execute !== 'string') throw new UsageError('the JSON command needs an "execute" member naming the command', 'qmp');
    if (command.arguments !== undefined && (typeof command.arguments !== 'object' || command.arguments === null || Array.isArray(command.arguments))) {
      throw new UsageError('"arguments" must be a JSON object', 'qmp');
    }
    return { name: command.execute, args: command.arguments as Record<string, unknown> | undefined };
  }
  if (rest.length === 1 && rest[0]!.trim().startsWith('{')) {
    try {
      const args = JSON.parse(rest[0]!) as unknown;
      if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new Error('not an object');
      return { name: first, args: args as Record<string, unknown> };
    } catch (error) {
      throw new UsageError(`arguments must be a JSON object: ${(error as Error).message}`, 'qmp');
    }
  }
  if (rest.length === 0) return { name: first, args: undefined };
  const args: Record<string, unknown> = {};
  for (const pair of rest) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`expected key=value, got '${pair}'`, 'qmp');
    const raw = pair.slice(eq + 1);
    // Values are JSON when they parse (numbers, booleans, objects), else plain strings, as in qmp-shell.
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    args[pair.slice(0, eq)] = value;
  }
  return { name: first, args };
}

export const qmpCommand: CommandSpec = {
  name: 'qmp',
  summary: 'send one raw QMP command and print the reply (virsh qemu-monitor-command --pretty)',
  usage: 'qmp \'{"execute": NAME, "arguments": {…}}\' | qmp NAME [\'{…}\' | key=value …]',
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock qmp query-block-jobs',
    'qmp-blockjob --socket /tmp/qmp.sock qmp \'{"execute": "query-named-block-nodes", "arguments": {"flat": true}}\'',
    'qmp-blockjob --socket /tmp/qmp.sock qmp block-job-set-speed device=job0 speed=1048576',
  ],
  options: {},
  async run(context) {
    const { name, args } = parseQmpInvocation(context.positionals);
    const client = await context.connect();
    try {
      const reply = await client.executeUntyped(name, args, { signal: context.signal });
      if (context.out.json) context.out.result(undefined, { type: 'reply', command: name, return: reply });
      else context.out.text(`${JSON.stringify(reply, null, 2)}\n`);
      return 0;
    } catch (error) {
      if (error instanceof QmpCommandError && context.out.json) {
        context.out.result(undefined, { type: 'reply', command: name, error: { class: error.errorClass, desc: error.desc } });
      }
      throw error;
    }
  },
};
