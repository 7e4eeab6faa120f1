/**
 * The namespaces and veth pairs of one e2e:vpn run. Host 1 is the machine itself (the root
 * namespace, where Docker publishes ports): it reaches the VPC namespace's OpenVPN server and
 * ELB API over one veth, its "internet". The VPC namespace holds the load balancer's address
 * (10.A.0.10 on an interface of its own) and, later, the server's tun. Host 2 is a namespace
 * with its own veth to the VPC, and one to the root namespace through which the ports that
 * arrive on its tunnel reach Docker's published ports (DNAT there, masquerade on the way out:
 * the stand-in for a second machine's own engine). Nothing is routed outside the run's block.
 */
import { command, inNetns, ip } from './command.ts';
import type { NetworkPlan, RunNames } from './network-plan.ts';

/** Interface names inside the namespaces (free to choose there: nothing else lives in them). */
export const NS_LINKS = {
  /** In the VPC: to the root namespace, to host 2, and the load balancer's subnet interface. */
  vpcUplink: 'uplink',
  vpcHost2: 'host2',
  vpcSubnet: 'subnet0',
  /** In host 2: to the VPC, and to the root namespace (Docker). */
  host2Uplink: 'uplink',
  host2Docker: 'docker',
  /** Host 2's tunnel: the plain `dev tun` of most client configs. */
  host2Tunnel: 'tun0',
  /** The OpenVPN server's tun in the VPC. */
  serverTunnel: 'vpn0',
} as const;

/** Runs a command in a namespace (or the root one). */
async function nsExec(netns: string, file: string, args: string[]): Promise<string> {
  const argv = inNetns(netns, file, args);
  return command(argv.file, argv.args);
}

/** Creates both namespaces and every link; on failure removes what it made and throws. */
export async function createTopology(names: RunNames, plan: NetworkPlan): Promise<{ remove(): Promise<void> }> {
  const remove = async () => {
    // Deleting a namespace deletes the veths with an end in it; the root-side links go with them.
    for (const ns of [names.host2Netns, names.vpcNetns]) await ip(undefined, 'netns', 'delete', ns).catch(() => undefined);
    for (const link of [names.rootVpcLink, names.rootHost2Link]) await ip(undefined, 'link', 'delete', link).catch(() => undefined);
  };
  const len = plan.linkPrefixLength;
  try {
    await ip(undefined, 'netns', 'add', names.vpcNetns);
    await ip(undefined, 'netns', 'add', names.host2Netns);
    for (const ns of [names.vpcNetns, names.host2Netns]) await ip(ns, 'link', 'set', 'lo', 'up');
    // Host 1 (root) <-> VPC.
    await ip(undefined, 'link', 'add', names.rootVpcLink, 'type', 'veth', 'peer', 'name', NS_LINKS.vpcUplink, 'netns', names.vpcNetns);
    await ip(undefined, 'addr', 'add', `${plan.rootVpc.a}/${len}`, 'dev', names.rootVpcLink);
    await ip(undefined, 'link', 'set', names.rootVpcLink, 'up');
    await ip(names.vpcNetns, 'addr', 'add', `${plan.rootVpc.b}/${len}`, 'dev', NS_LINKS.vpcUplink);
    await ip(names.vpcNetns, 'link', 'set', NS_LINKS.vpcUplink, 'up');
    // Host 2 <-> VPC.
    await ip(names.host2Netns, 'link', 'add', NS_LINKS.host2Uplink, 'type', 'veth', 'peer', 'name', NS_LINKS.vpcHost2, 'netns', names.vpcNetns);
    await ip(names.host2Netns, 'addr', 'add', `${plan.host2Vpc.a}/${len}`, 'dev', NS_LINKS.host2Uplink);
    await ip(names.host2Netns, 'link', 'set', NS_LINKS.host2Uplink, 'up');
    await ip(names.vpcNetns, 'addr', 'add', `${plan.host2Vpc.b}/${len}`, 'dev', NS_LINKS.vpcHost2);
    await ip(names.vpcNetns, 'link', 'set', NS_LINKS.vpcHost2, 'up');
    // Host 2 <-> root, for Docker's published ports.
    await ip(undefined, 'link', 'add', names.rootHost2Link, 'type', 'veth', 'peer', 'name', NS_LINKS.host2Docker, 'netns', names.host2Netns);
    await ip(undefined, 'addr', 'add', `${plan.host2Root.a}/${len}`, 'dev', names.rootHost2Link);
    await ip(undefined, 'link', 'set', names.rootHost2Link, 'up');
    await ip(names.host2Netns, 'addr', 'add', `${plan.host2Root.b}/${len}`, 'dev', NS_LINKS.host2Docker);
    await ip(names.host2Netns, 'link', 'set', NS_LINKS.host2Docker, 'up');
    // The load balancer's address in the VPC, on a veth whose peer stays in the namespace (a carrier, no traffic).
    await ip(names.vpcNetns, 'link', 'add', NS_LINKS.vpcSubnet, 'type', 'veth', 'peer', 'name', `${NS_LINKS.vpcSubnet}p`);
    await ip(names.vpcNetns, 'link', 'set', `${NS_LINKS.vpcSubnet}p`, 'up');
    await ip(names.vpcNetns, 'addr', 'add', `${plan.loadBalancerAddress}/${plan.vpcCidr.split('/')[1]}`, 'dev', NS_LINKS.vpcSubnet);
    await ip(names.vpcNetns, 'link', 'set', NS_LINKS.vpcSubnet, 'up');
    // Host 2: what arrives on its tunnel goes on to the root namespace's published ports.
    await nsExec(names.host2Netns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await nsExec(names.host2Netns, 'iptables', ['-w', '-t', 'nat', '-A', 'PREROUTING', '-i', NS_LINKS.host2Tunnel, '-p', 'tcp', '-j', 'DNAT', '--to-destination', plan.host2Root.a]);
    await nsExec(names.host2Netns, 'iptables', ['-w', '-t', 'nat', '-A', 'POSTROUTING', '-o', NS_LINKS.host2Docker, '-j', 'MASQUERADE']);
  } catch (error) {
    await remove();
    throw error;
  }
  return { remove };
}
