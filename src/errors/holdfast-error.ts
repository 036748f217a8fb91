/**
 * The one error type of holdfast. Every error that crosses a module boundary is a
 * HoldfastError with a stable, documented `code` (SCREAMING_SNAKE, prefixed by area),
 * an optional protocol `reasonCode` when the error maps to an MQTT reason code, and the
 * underlying `cause`. Codes are part of the operator-facing surface: never rename one.
 */
export interface HoldfastErrorOptions {
  cause?: unknown;
  /** MQTT 5 reason code this error maps to, when it ends a protocol exchange. */
  reasonCode?: number;
  /** Extra machine-readable details (bounded, never secrets). */
  details?: Record<string, unknown>;
}

export class HoldfastError extends Error {
  readonly code: string;
  readonly reasonCode: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: HoldfastErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HoldfastError';
    this.code = code;
    this.reasonCode = options.reasonCode;
    this.details = options.details;
  }
}

export function isHoldfastError(err: unknown, code?: string): err is HoldfastError {
  return err instanceof HoldfastError && (code === undefined || err.code === code);
}
