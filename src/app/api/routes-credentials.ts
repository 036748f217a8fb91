/** /api/devices/{id}/secrets, /certificates, /credentials: a device's credentials (hashes never leave the server). */
import type { Platform } from '../../platform/contracts.js';
import type { CredentialRecord } from '../../ports/platform-store.js';
import { defineRoute, type AnyRoute } from './route.js';
import { AddCertificateBody, Credential, CredentialParams, DeviceParams, ErrorBody, IssuedSecret, IssueSecretBody, itemsOf } from './schemas.js';

/** What the API shows of a credential: everything but the secret's hash. */
export function credentialView(c: CredentialRecord): Record<string, unknown> {
  const v: Record<string, unknown> = { id: c.id, deviceId: c.deviceId, kind: c.kind, createdAt: c.createdAt };
  if (c.fingerprint256 !== undefined) v.fingerprint256 = c.fingerprint256;
  if (c.subjectCN !== undefined) v.subjectCN = c.subjectCN;
  if (c.expiresAt !== undefined) v.expiresAt = c.expiresAt;
  return v;
}

/** `AB:CD:...` upper case, as CredentialRecord stores it (and TLS sockets report it). */
export function normalizeFingerprint(fp: string): string {
  const hex = fp.replace(/:/g, '').toUpperCase();
  return hex.replace(/(..)(?!$)/g, '$1:');
}

const deviceNotFound = { description: 'DEVICE_NOT_FOUND', schema: ErrorBody };

export function credentialRoutes(platform: Platform): AnyRoute[] {
  const { credentials } = platform;
  return [
    defineRoute({
      method: 'POST',
      url: '/api/devices/:id/secrets',
      operationId: 'issueSecret',
      tag: 'credentials',
      summary: 'Issue a new secret (MQTT password); returned once',
      description:
        'The device connects with client id = device id and this secret as password. With overlapS the older secrets keep working that long (rotation); without it they stop now.',
      params: DeviceParams,
      body: IssueSecretBody,
      responses: { 201: { description: 'The secret, shown only in this response', schema: IssuedSecret }, 404: deviceNotFound },
      async handler({ params, body }) {
        const issued = await credentials.issueSecret(params.id, body?.overlapS === undefined ? {} : { overlapS: body.overlapS });
        return { status: 201, body: { credential: credentialView(issued.credential), secret: issued.secret } };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/devices/:id/certificates',
      operationId: 'addCertificate',
      tag: 'credentials',
      summary: 'Map an X.509 client certificate to the device (by SHA-256 fingerprint or subject CN)',
      params: DeviceParams,
      body: AddCertificateBody,
      responses: { 201: { description: 'The credential', schema: Credential }, 404: deviceNotFound },
      async handler({ params, body }) {
        const match = body.fingerprint256 !== undefined ? { fingerprint256: normalizeFingerprint(body.fingerprint256) } : { subjectCN: body.subjectCN! };
        return { status: 201, body: credentialView(await credentials.addCertificate(params.id, match)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/devices/:id/credentials',
      operationId: 'listCredentials',
      tag: 'credentials',
      summary: "A device's credentials (without secrets or hashes)",
      params: DeviceParams,
      responses: { 200: { description: 'The credentials', schema: itemsOf(Credential) }, 404: deviceNotFound },
      async handler({ params }) {
        return { status: 200, body: { items: (await credentials.list(params.id)).map(credentialView) } };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/devices/:id/credentials/:credId',
      operationId: 'revokeCredential',
      tag: 'credentials',
      summary: 'Revoke a credential',
      params: CredentialParams,
      responses: { 204: { description: 'Revoked' }, 404: { description: 'DEVICE_NOT_FOUND or CREDENTIAL_NOT_FOUND', schema: ErrorBody } },
      async handler({ params }) {
        await credentials.revoke(params.id, params.credId);
        return { status: 204 };
      },
    }),
  ];
}
