/*
 * What the QEMU behind a client accepts, read from its own `query-qmp-schema` (once per client, cached),
 * never guessed from a version number or an error text. Every place the code depends on a QEMU
 * version asks here (docs/compat.md lists them).
 */
import { QmpCommandError } from '../errors.js';
import type { QmpClient } from './client.js';

/** One entry of query-qmp-schema's reply (SchemaInfo): only the members read here. */
export interface SchemaInfo {
  name: string;
  'meta-type': string;
  'arg-type'?: string;
  members?: Array<{ name: string; features?: string[] }>;
  variants?: Array<{ case: string; type: string }>;
  features?: string[];
}

/** The parts of a QMP schema this library asks about. */
export interface QmpSchema {
  /** Command names QEMU accepts. */
  readonly commands: ReadonlySet<string>;
  /** The argument names of `command` (its arg-type's members and those of its variants), or undefined when QEMU lacks it. */
  commandArguments(command: string): ReadonlySet<string> | undefined;
  /** Commands the schema marks with the feature "deprecated" (refused under `-compat deprecated-input=reject`). */
  readonly deprecatedCommands: ReadonlySet<string>;
}

/** The schema from query-qmp-schema's return (exported for tests over recorded schemas). */
export function schemaFrom(entries: readonly SchemaInfo[]): QmpSchema {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const commands = new Map(entries.filter((e) => e['meta-type'] === 'command').map((e) => [e.name, e]));
  const argumentCache = new Map<string, ReadonlySet<string>>();
  const members = (typeName: string | undefined, into: Set<string>, seen: Set<string>): void => {
    if (!typeName || seen.has(typeName)) return;
    seen.add(typeName);
    const type = byName.get(typeName);
    for (const m of type?.members ?? []) into.add(m.name);
    for (const v of type?.variants ?? []) members(v.type, into, seen);
  };
  return {
    commands: new Set(commands.keys()),
    deprecatedCommands: new Set([...commands.values()].filter((e) => e.features?.includes('deprecated')).map((e) => e.name)),
    commandArguments(command) {
      const entry = commands.get(command);
      if (!entry) return undefined;
      let args = argumentCache.get(command);
      if (!args) {
        const set = new Set<string>();
        members(entry['arg-type'], set, new Set());
        argumentCache.set(command, (args = set));
      }
      return args;
    },
  };
}

const schemas = new WeakMap<QmpClient, Promise<QmpSchema>>();

/** This client's QEMU schema: one `query-qmp-schema` per client (a failed query is not cached). */
export function qmpSchema(client: QmpClient, options: { timeoutMs?: number | undefined } = {}): Promise<QmpSchema> {
  let schema = schemas.get(client);
  if (!schema) {
    schema = (client.executeUntyped('query-qmp-schema', {}, { timeoutMs: options.timeoutMs ?? 30_000 }) as Promise<SchemaInfo[]>).then(schemaFrom);
    schemas.set(client, schema);
    schema.catch(() => schemas.delete(client));
  }
  return schema;
}

/** Does this QEMU's `command` take `argument`? E.g. `commandHasArgument(client, 'block-commit', 'backing-mask-protocol')` (QEMU 9.0+). */
export async function commandHasArgument(
  client: QmpClient,
  command: string,
  argument: string,
  options: { timeoutMs?: number | undefined } = {},
): Promise<boolean> {
  return (await qmpSchema(client, options)).commandArguments(command)?.has(argument) ?? false;
}

/** A job verb that has a `job-*` command and a `block-job-*` one (QEMU 10.1 deprecated the latter). */
export type JobVerbName = 'complete' | 'pause' | 'resume' | 'finalize' | 'dismiss';

/** The QMP command for each verb, and how it names the job (`id` for job-*, `device` for block-job-*). */
export type JobVerbs = Readonly<Record<JobVerbName, { command: string; key: 'id' | 'device' }>>;

const JOB_VERB_NAMES: readonly JobVerbName[] = ['complete', 'pause', 'resume', 'finalize', 'dismiss'];

/**
 * The commands to send for a job's verbs, from what this QEMU has (and, given its schema, what it
 * marks deprecated): `job-X` when QEMU has it and does not deprecate it, else `block-job-X` when that
 * is there and not deprecated, else whichever exists. block-job-cancel / -set-speed / -change stay:
 * no job-* command means the same.
 */
export function chooseJobVerbs(schema: Pick<QmpSchema, 'commands' | 'deprecatedCommands'>): JobVerbs {
  const usable = (name: string): boolean => schema.commands.has(name) && !schema.deprecatedCommands.has(name);
  const entries = JOB_VERB_NAMES.map((verb) => {
    const job = `job-${verb}`;
    const block = `block-job-${verb}`;
    const useJob = usable(job) || (!usable(block) && (schema.commands.has(job) || !schema.commands.has(block)));
    return [verb, useJob ? { command: job, key: 'id' as const } : { command: block, key: 'device' as const }] as const;
  });
  return Object.fromEntries(entries) as unknown as JobVerbs;
}

const commandLists = new WeakMap<QmpClient, Promise<ReadonlySet<string>>>();

/** The commands this client's QEMU has: one `query-commands` per client (a failed query is not cached). */
export function qmpCommandNames(client: QmpClient, options: { timeoutMs?: number } = {}): Promise<ReadonlySet<string>> {
  let names = commandLists.get(client);
  if (!names) {
    names = client.execute('query-commands', {}, { timeoutMs: options.timeoutMs ?? 30_000 }).then((list) => new Set(list.map((c) => c.name)));
    commandLists.set(client, names);
    names.catch(() => commandLists.delete(client));
  }
  return names;
}

/**
 * chooseJobVerbs for this client's QEMU, from its `query-commands` (≈ 1 ms and 7 KB, where
 * query-qmp-schema costs QEMU 20–36 ms for 200–230 KB: measured on 7.2 and 11.1, and a job start
 * must not wait for that). job-X where QEMU has it: no QEMU deprecates job-X (the recorded schemas
 * and the policy test check it). A peer that cannot answer (a replayed transcript that never asked)
 * gets the job-* commands, which every QEMU since 3.0 has.
 */
export async function jobVerbs(client: QmpClient, options: { timeoutMs?: number } = {}): Promise<JobVerbs> {
  const names = await qmpCommandNames(client, options).catch((error: unknown) => {
    if (error instanceof QmpCommandError) return undefined;
    throw error;
  });
  return chooseJobVerbs({ commands: names ?? new Set(), deprecatedCommands: new Set() });
}

/**
 * Block drivers that are protocols (they reach bytes: a file, a device, a network export), not image
 * formats. A commit whose base is such a node (libvirt opens a plain raw image without a format node)
 * would record the protocol's name as the overlay's backing format; `backing-mask-protocol` says "raw".
 */
const PROTOCOL_DRIVERS: ReadonlySet<string> = new Set([
  'file',
  'host_device',
  'host_cdrom',
  'nbd',
  'iscsi',
  'rbd',
  'ssh',
  'http',
  'https',
  'ftp',
  'ftps',
  'nfs',
  'gluster',
  'nvme',
  'nvme-io_uring',
  'virtio-blk-vfio-pci',
  'virtio-blk-vhost-user',
  'virtio-blk-vhost-vdpa',
  'io_uring',
  'null-co',
  'null-aio',
]);

export function isProtocolDriver(driver: string): boolean {
  return PROTOCOL_DRIVERS.has(driver);
}
