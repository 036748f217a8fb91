/**
 * From the config's `platform.auth.jwt` section to JwtOptions: reads the public key file
 * (RS256/ES256) once at start-up, so a missing or unreadable key fails the start, not the
 * first CONNECT.
 */
import { readFileSync } from 'node:fs';
import { HoldfastError } from '../../errors/index.js';
import type { JwtAlgorithm, JwtOptions } from './jwt.js';

export interface JwtConfig {
  algorithm: JwtAlgorithm;
  secret?: string;
  publicKeyFile?: string;
  issuer?: string;
  audience?: string;
  leewayS: number;
  requireExp: boolean;
}

export function jwtOptionsFromConfig(cfg: JwtConfig): JwtOptions {
  const opts: JwtOptions = {
    algorithm: cfg.algorithm,
    issuer: cfg.issuer,
    audience: cfg.audience,
    leewayS: cfg.leewayS,
    requireExp: cfg.requireExp,
  };
  if (cfg.algorithm === 'HS256') {
    opts.secret = cfg.secret;
  } else if (cfg.publicKeyFile !== undefined) {
    try {
      opts.publicKeyPem = readFileSync(cfg.publicKeyFile, 'utf8');
    } catch (err) {
      throw new HoldfastError('PLATFORM_JWT_CONFIG', `cannot read platform.auth.jwt.publicKeyFile ${cfg.publicKeyFile}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return opts;
}
