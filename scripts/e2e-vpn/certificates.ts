/**
 * The VPN's certificates, made offline with openssl (no easy-rsa needed): a CA, a server
 * certificate (serverAuth, which clients check with `remote-cert-tls server`) and one client
 * certificate per host (clientAuth, CN = its client-config-dir entry), P-256 keys, valid for
 * two days; plus the tls-crypt key from `openvpn --genkey`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { command } from './command.ts';

/** Paths of what was made, in `dir`. */
export interface VpnCertificates {
  readonly ca: string;
  readonly tlsCrypt: string;
  readonly server: { readonly cert: string; readonly key: string };
  readonly clients: Readonly<Record<string, { readonly cert: string; readonly key: string }>>;
}

const EXTENSIONS = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = serverAuth
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = clientAuth
`;

/** Makes the CA, the server's and each client's certificate and the tls-crypt key in `dir`. */
export async function makeCertificates(dir: string, clientNames: readonly string[]): Promise<VpnCertificates> {
  const cnf = join(dir, 'openssl.cnf');
  await writeFile(cnf, EXTENSIONS);
  const path = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await command('openssl', ['req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '2', '-subj', '/CN=e2e-vpn CA', '-config', cnf, '-extensions', 'ca']);
  const issue = async (name: string, extensions: 'server' | 'client') => {
    await command('openssl', ['req', ...ec, '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', `/CN=${name}`, '-config', cnf]);
    await command('openssl', ['x509', '-req', '-in', path(`${name}.csr`), '-CA', path('ca.crt'), '-CAkey', path('ca.key'), '-CAcreateserial', '-out', path(`${name}.crt`), '-days', '2', '-extfile', cnf, '-extensions', extensions]);
    return { cert: path(`${name}.crt`), key: path(`${name}.key`) };
  };
  const server = await issue('server', 'server');
  const clients: Record<string, { cert: string; key: string }> = {};
  for (const name of clientNames) clients[name] = await issue(name, 'client');
  await command('openvpn', ['--genkey', 'tls-crypt', path('tls-crypt.key')]);
  return { ca: path('ca.crt'), tlsCrypt: path('tls-crypt.key'), server, clients };
}

/** The PEM texts a client config inlines. */
export async function clientCredentials(certs: VpnCertificates, name: string): Promise<{ ca: string; cert: string; key: string; tlsCrypt: string }> {
  const client = certs.clients[name];
  if (!client) throw new Error(`no client certificate for ${name}`);
  const [ca, cert, key, tlsCrypt] = await Promise.all([certs.ca, client.cert, client.key, certs.tlsCrypt].map((p) => readFile(p, 'utf8')));
  return { ca: ca as string, cert: cert as string, key: key as string, tlsCrypt: tlsCrypt as string };
}
