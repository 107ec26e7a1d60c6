#!/usr/bin/env node
// Entry point of the qmp-blockjob command. `--version` answers before loading anything else, so that
// scripts probing for the tool pay only node's own start-up. The shipped command is this file bundled
// with everything it loads into one CommonJS file, dist/cli/bundle.cjs, run by the bin dist/cli.cjs
// (`npm run build`; why in docs/design.md, "The CLI bundle"); so no top-level await here.
import { VERSION } from './version.js';
import { setCliEntry } from './entry.js';

// A reader that went away (`qmp-blockjob --help | head -1`) is no crash; Output tracks it for commands.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  process.stdout.write(`qmp-blockjob ${VERSION}\n`);
} else if (process.argv[2] === '--share-keeper') {
  // Spawned by a command that hands its shared monitor over as it ends (src/share/keeper.ts).
  void import('../share/keeper.js').then(({ runShareKeeper }) => runShareKeeper());
} else {
  if (process.argv[1]) setCliEntry(process.argv[1]);
  void import('./run.js').then(async ({ runCli }) => {
    process.exitCode = await runCli(process.argv.slice(2));
  });
}
