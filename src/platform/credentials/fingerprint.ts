/**
 * SHA-256 certificate fingerprints as Node prints them (X509Certificate.fingerprint256,
 * TLSSocket.getPeerCertificate().fingerprint256): 32 bytes as upper-case hex pairs joined
 * by colons. Operators paste them in every form (openssl prints `SHA256 Fingerprint=AB:..`,
 * other tools lower case or without colons): all are normalized to Node's form.
 */
const HEX_64 = /^[0-9a-f]{64}$/;

/** The normalized fingerprint, or undefined when `input` is not a SHA-256 fingerprint. */
export function normalizeFingerprint256(input: string): string | undefined {
  const hex = input
    .trim()
    .replace(/^sha-?256\s*fingerprint\s*=\s*/i, '')
    .replace(/[\s:]/g, '')
    .toLowerCase();
  if (!HEX_64.test(hex)) return undefined;
  return hex.toUpperCase().match(/../g)!.join(':');
}
