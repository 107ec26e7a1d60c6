import type { CommandSpec } from '../context.js';
import { backupCommand } from './backup.js';
import { blocksCommand } from './blocks.js';
import { chainCommand } from './chain.js';
import { checkpointCommand } from './checkpoint.js';
import { commitCommand } from './commit.js';
import { copyCommand } from './copy.js';
import { demoCommand } from './demo.js';
import { eventsCommand } from './events.js';
import { graphCommand } from './graph.js';
import { jobCommand } from './job.js';
import { jobsCommand } from './jobs.js';
import { pullCommand } from './pull.js';
import { qmpCommand } from './qmp.js';
import { shareCommand } from './share.js';
import { snapshotCommand } from './snapshot.js';
import { traceCommand } from './trace.js';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  blocksCommand,
  chainCommand,
  graphCommand,
  snapshotCommand,
  checkpointCommand,
  commitCommand,
  pullCommand,
  copyCommand,
  backupCommand,
  jobsCommand,
  jobCommand,
  eventsCommand,
  qmpCommand,
  traceCommand,
  shareCommand,
  demoCommand,
];
