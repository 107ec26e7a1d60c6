import type { CommandSpec } from '../context.js';
import { demoCommand } from './demo.js';
import { eventsCommand } from './events.js';
import { qmpCommand } from './qmp.js';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [eventsCommand, qmpCommand, demoCommand];
