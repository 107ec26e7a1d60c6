/*
 * query-commands and query-qmp-schema for the model: the transcript's own replies, else a schema
 * recorded in another trace of the same QEMU (`schema` option, `--schema FILE`); query-commands falls
 * back to the schema's command names, then to the commands the transcript shows QEMU answering.
 */
import { isJsonObject as isObject } from '../../src/util/json.js';
import type { Script } from '../script.js';

function recordedReturn(script: Script | undefined, name: string): unknown {
  const exchange = script?.exchanges.find((x) => x.name === name && x.reply && 'return' in x.reply.msg);
  return exchange?.reply?.msg.return;
}

export interface Introspection {
  /** query-qmp-schema's return, when recorded. */
  schema: unknown;
  /** query-commands' return. */
  commands: Array<{ name: string }>;
  /** Whether QEMU has this command (for CommandNotFound). */
  has(name: string): boolean;
  /** Commands the schema marks deprecated (empty without a recorded schema). */
  deprecated: ReadonlySet<string>;
  /** The recorded schema's command names (undefined without one): deprecated-output=hide leaves deprecated ones out. */
  schemaCommands: ReadonlySet<string> | undefined;
}

export function introspection(script: Script, schemaScript: Script | undefined, modelled: readonly string[]): Introspection {
  const schema = recordedReturn(script, 'query-qmp-schema') ?? recordedReturn(schemaScript, 'query-qmp-schema');
  let commands = recordedReturn(script, 'query-commands') ?? recordedReturn(schemaScript, 'query-commands');
  if (!Array.isArray(commands) && Array.isArray(schema)) {
    commands = schema.filter((e) => isObject(e) && e['meta-type'] === 'command').map((e) => ({ name: (e as Record<string, unknown>).name }));
  }
  if (!Array.isArray(commands)) {
    const answered = script.exchanges
      .filter((x) => x.reply && !(isObject(x.reply.msg.error) && x.reply.msg.error.class === 'CommandNotFound'))
      .map((x) => x.name);
    commands = [...new Set([...answered, ...modelled, 'query-commands'])].sort().map((name) => ({ name }));
  }
  const list = (commands as unknown[]).filter((c): c is { name: string } => isObject(c) && typeof c.name === 'string');
  const names = new Set(list.map((c) => c.name));
  const deprecated = new Set(
    Array.isArray(schema)
      ? schema
          .filter((e) => isObject(e) && e['meta-type'] === 'command' && Array.isArray(e.features) && e.features.includes('deprecated'))
          .map((e) => String((e as Record<string, unknown>).name))
      : [],
  );
  const schemaCommands = Array.isArray(schema)
    ? new Set(schema.filter((e) => isObject(e) && e['meta-type'] === 'command').map((e) => String((e as Record<string, unknown>).name)))
    : undefined;
  return { schema, commands: list, has: (name) => names.has(name), deprecated, schemaCommands };
}
