// A static file server on 127.0.0.1 for the release tests, run as its own process (the tests
// block in spawnSync while apt-get, dnf or install.sh talk to it): serves DIR over plain http,
// and /redirect/PATH answers 302 to http://127.0.0.1:PORT/PATH (a redirect that stays on http).
// Prints the port on its first line of stdout. Usage: node static-http-server.mjs DIR
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

const root = process.argv[2];
if (!root) throw new Error('usage: node static-http-server.mjs DIR');
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = decodeURIComponent(url.pathname);
  if (path.startsWith('/redirect/')) {
    const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
    res.writeHead(302, { location: `http://127.0.0.1:${port}/${path.slice('/redirect/'.length)}` }).end();
    return;
  }
  const file = join(root, normalize(path).replace(/^(\.\.[/\\])+/, ''));
  let size;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    res.writeHead(404).end('not found\n');
    return;
  }
  res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`${port}\n`);
});
