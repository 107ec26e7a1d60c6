// `node dist/bench/domain-connect.js DOMAIN URI`: one `--domain` connect in a fresh process, as the CLI
// makes it (virsh children, event-stream probe, greeting); prints the transport's own timings as JSON.
import { VirshTransport } from '../src/transport/virsh/index.js';

const [domain, uri] = process.argv.slice(2);
if (!domain || !uri) {
  process.stderr.write('usage: domain-connect.js DOMAIN URI\n');
  process.exit(2);
}
const transport = await VirshTransport.connect({ domain, uri });
process.stdout.write(`${JSON.stringify(transport.info)}\n`);
await transport.close();
