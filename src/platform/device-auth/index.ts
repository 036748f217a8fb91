export { allowEveryone, createDeviceAuth, type AuthenticateHook, type DeviceAuthOptions } from './device-auth.js';
export { DeviceIdentities, type DeviceIdentity } from './device-identities.js';
export {
  createJwtVerifier,
  looksLikeJwt,
  type JwtAlgorithm,
  type JwtClaims,
  type JwtOptions,
  type JwtResult,
  type JwtVerifier,
} from './jwt.js';
export { jwtOptionsFromConfig, type JwtConfig } from './jwt-config.js';
export { SecretVerifier, type SecretVerifierOptions } from './secret-verifier.js';
