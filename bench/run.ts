// `npm run bench` (short) and `npm run bench -- --full`. Not part of the tests.
import { resetReport } from './common.js';
import { benchCli } from './cli.js';
import { benchCliNodes } from './cli-nodes.js';
import { benchE2e } from './e2e.js';
import { benchFraming } from './framing.js';
import { benchRoundTrip } from './roundtrip.js';
import { benchReaction } from './reaction.js';
import { benchScale } from './scale.js';
import { benchShare } from './share.js';
import { benchShareInput } from './share-input.js';
import { benchStartup } from './startup.js';

const full = process.argv.includes('--full');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const benches: Record<string, (full: boolean) => Promise<void>> = {
  framing: benchFraming,
  roundtrip: benchRoundTrip,
  share: benchShare,
  'share-input': benchShareInput,
  startup: benchStartup,
  cli: benchCli,
  nodes: benchCliNodes,
  reaction: benchReaction,
  e2e: benchE2e,
  scale: benchScale,
};
if (!only) resetReport();
for (const [name, run] of Object.entries(benches)) {
  if (only && !only.split(',').includes(name)) continue;
  await run(full);
}
