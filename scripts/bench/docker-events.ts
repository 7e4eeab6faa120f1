/** Docker's own times for container events, as the engine stamped them (timeNano), for the bench's clocks. */
import type Docker from 'dockerode';

export interface DockerEventTimes {
  /** Epoch ms of the first `action` event of container `id`, if seen. */
  at(action: string, id: string): number | undefined;
  stop(): void;
}

/** Records start, kill, die events of every container from now on. */
export async function recordDockerEvents(docker: Docker): Promise<DockerEventTimes> {
  const times = new Map<string, number>();
  const filters = JSON.stringify({ type: ['container'], event: ['start', 'kill', 'die'] });
  const stream = (await docker.getEvents({ filters } as Docker.GetEventsOptions)) as NodeJS.ReadableStream & { destroy(): void };
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const e = JSON.parse(buffer.slice(0, nl)) as { Action: string; Actor: { ID: string }; timeNano: number };
      buffer = buffer.slice(nl + 1);
      const key = `${e.Action}|${e.Actor.ID}`;
      if (!times.has(key)) times.set(key, Number(BigInt(e.timeNano) / 1000n) / 1000);
    }
  });
  return { at: (action, id) => times.get(`${action}|${id}`), stop: () => stream.destroy() };
}
