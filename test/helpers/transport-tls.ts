/**
 * The test TLS material in test/fixtures/tls (made once by generate.sh there): a CA, a
 * server certificate for 127.0.0.1 / localhost, a client certificate signed by the CA
 * (CN device-42) and a self-signed client certificate (CN rogue-device) the CA never saw.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
const read = (name: string) => readFileSync(dir + name, 'utf8');

export interface CertPair {
  cert: string;
  key: string;
  /** As Node's TLS layer reports it: colon-separated upper-case hex. */
  fingerprint256: string;
  subjectCN: string;
}

function pair(name: string, subjectCN: string): CertPair {
  const cert = read(`${name}.crt`);
  return { cert, key: read(`${name}.key`), fingerprint256: new X509Certificate(cert).fingerprint256, subjectCN };
}

export const tlsFixtures = {
  ca: read('ca.crt'),
  server: pair('server', 'localhost'),
  client: pair('client', 'device-42'),
  selfSignedClient: pair('selfsigned-client', 'rogue-device'),
};

/** The `tls` option of startTestBroker: server cert, CA, client certificates requested. */
export function serverTlsOptions(requestCert = true) {
  return { port: 0, cert: tlsFixtures.server.cert, key: tlsFixtures.server.key, ca: tlsFixtures.ca, requestCert };
}
