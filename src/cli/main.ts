#!/usr/bin/env node
// Entry point of the qmp-blockjob command. `--version` answers before loading anything else, so that
// scripts probing for the tool pay only node's own start-up.
import { VERSION } from './version.js';

if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  process.stdout.write(`qmp-blockjob ${VERSION}\n`);
} else {
  const { runCli } = await import('./run.js');
  process.exitCode = await runCli(process.argv.slice(2));
}
