/**
 * The error codes of the resilience toolkit. Every error it throws or aborts with is a
 * HoldfastError carrying one of these codes and `details` that say which operation,
 * breaker, queue or limit refused the work. No MQTT reason codes here: the broker maps
 * codes to reason codes in one place.
 */
import { HoldfastError } from '../errors/index.js';

/** A deadline fired. details: { operation, timeoutMs, deadlineAt }. */
export const DEADLINE_EXCEEDED = 'DEADLINE_EXCEEDED';
/** A circuit breaker refused the call. details: { breaker, state, retryAfterMs }. */
export const BREAKER_OPEN = 'BREAKER_OPEN';
/** A retry loop gave up. details: { operation, attempts, elapsedMs, why }. cause: the last error. */
export const RETRY_EXHAUSTED = 'RETRY_EXHAUSTED';
/** A bounded queue cannot take one more waiting consumer (`take`). details: { queue, maxTakers }. Full puts are results, not errors. */
export const QUEUE_FULL = 'QUEUE_FULL';
/** A semaphore's waiting line is full. details: { semaphore, shard, maxWaiters }. */
export const SEMAPHORE_FULL = 'SEMAPHORE_FULL';
/** A constructor got an option it cannot work with. details: { option, value }. */
export const RESILIENCE_INVALID_OPTION = 'RESILIENCE_INVALID_OPTION';

export function invalidOption(option: string, value: unknown, rule: string): HoldfastError {
  return new HoldfastError(RESILIENCE_INVALID_OPTION, `${option} ${rule} (got ${String(value)})`, {
    details: { option, value },
  });
}

/** Throws RESILIENCE_INVALID_OPTION unless `value` is a finite number >= min (or > min when `strict`). */
export function checkNumber(option: string, value: number, min: number, strict = false, allowInfinity = false): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (allowInfinity || Number.isFinite(value)) &&
    (strict ? value > min : value >= min);
  if (!ok) throw invalidOption(option, value, `must be a ${allowInfinity ? '' : 'finite '}number ${strict ? '>' : '>='} ${min}`);
  return value;
}
