export {
  hashPassword,
  verifyPassword,
  parsePasswordHash,
  DEFAULT_SCRYPT_PARAMS,
  type ScryptParams,
  type ParsedPasswordHash,
} from './password-hash.js';
export { createStaticAuth, anonymousAllowed, type StaticAuthOptions } from './static-users.js';
