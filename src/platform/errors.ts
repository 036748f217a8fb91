/**
 * The device platform's error: a HoldfastError whose code is one of the stable
 * PlatformErrorCode values of contracts.ts (the admin API maps them to HTTP statuses).
 */
import { HoldfastError, type HoldfastErrorOptions } from '../errors/index.js';
import type { PlatformErrorCode } from './contracts.js';

export class PlatformError extends HoldfastError {
  declare readonly code: PlatformErrorCode;

  constructor(code: PlatformErrorCode, message: string, options: HoldfastErrorOptions = {}) {
    super(code, message, options);
    this.name = 'PlatformError';
  }
}

export function isPlatformError(err: unknown, code?: PlatformErrorCode): err is PlatformError {
  return err instanceof PlatformError && (code === undefined || err.code === code);
}
