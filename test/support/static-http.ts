/** Starts test/support/static-http-server.mjs in its own process; resolves with its base URL. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static-http-server.mjs');

export interface StaticHttp { readonly url: string; stop(): void }

export function startStaticHttp(dir: string): Promise<StaticHttp> {
  const child: ChildProcess = spawn(process.execPath, [SERVER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`static-http-server.mjs exited (${code}) before listening`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve({ url: `http://127.0.0.1:${line.trim()}`, stop: () => child.kill() });
    });
  });
}
