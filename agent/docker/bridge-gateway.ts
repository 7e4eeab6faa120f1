/** The Docker default bridge's gateway address: where bridge-mode containers reach the host (docker0, usually 172.17.0.1). */
import type Dockerode from 'dockerode';

export async function defaultBridgeGateway(docker: Dockerode): Promise<string | undefined> {
  const info = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
  return info.IPAM?.Config?.map((c) => c.Gateway).find((g): g is string => typeof g === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(g));
}
