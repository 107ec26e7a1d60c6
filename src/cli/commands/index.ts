import type { CommandSpec } from '../context.js';
import { blocksCommand } from './blocks.js';
import { chainCommand } from './chain.js';
import { demoCommand } from './demo.js';
import { eventsCommand } from './events.js';
import { qmpCommand } from './qmp.js';
import { snapshotCommand } from './snapshot.js';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [blocksCommand, chainCommand, snapshotCommand, eventsCommand, qmpCommand, demoCommand];
