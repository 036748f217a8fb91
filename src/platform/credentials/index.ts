export { CredentialServiceImpl, MAX_OVERLAP_S, SECRET_BYTES, type CredentialServiceDeps } from './credential-service.js';
export { normalizeFingerprint256 } from './fingerprint.js';
