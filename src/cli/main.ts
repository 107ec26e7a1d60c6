#!/usr/bin/env node
// Entry point of the qmp-blockjob command. Commands live in src/cli/commands/; this file only dispatches.
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2));
