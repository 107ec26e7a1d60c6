// The guest agent for `snapshot --quiesce`: --agent PATH (the agent's QEMU chardev socket), or,
// under --domain, libvirt's own agent connection (virsh qemu-agent-command).
import { connectGuestAgent, VirshGuestAgent, type GuestAgent } from '../block/guest-agent.js';
import { UsageError } from './args.js';
import type { CliContext } from './context.js';

export async function openGuestAgent(context: CliContext, agentPath: string | undefined, command: string): Promise<GuestAgent> {
  const { global } = context;
  if (agentPath !== undefined) {
    if (global.domain)
      throw new UsageError("--agent names the agent socket of a QEMU reached by --socket/--tcp; under --domain libvirt's agent is used", command);
    return connectGuestAgent({ path: agentPath }, { signal: context.signal });
  }
  if (global.domain) {
    const agent = new VirshGuestAgent(global.domain, global.connect ? { uri: global.connect } : {});
    await agent.probe({ signal: context.signal });
    return agent;
  }
  throw new UsageError("--quiesce needs the guest agent: --agent PATH (its socket), or --domain (libvirt's agent)", command);
}
