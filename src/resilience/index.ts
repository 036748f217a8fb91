/**
 * The resilience toolkit: small, generic protection modules with no MQTT knowledge.
 * See docs/resilience.md for what each is for and how the broker uses it.
 */
export { abortable } from './abortable.js';
export { AdaptiveLimit, type AdaptiveLimitCounters, type AdaptiveLimitOptions, type LimitAlgorithm } from './adaptive-limit.js';
export { BoundedQueue, type BoundedQueueCounters, type BoundedQueueOptions, type FullPolicy, type OfferResult } from './bounded-queue.js';
export { BreakerRegistry, type BreakerRegistryCounters, type BreakerRegistryOptions, type KeyedBreakerListener } from './breaker-registry.js';
export {
  CircuitBreaker,
  type BreakerCounters,
  type BreakerListener,
  type BreakerState,
  type BreakerTransition,
  type CircuitBreakerOptions,
  type SlidingWindowPolicy,
  type TransitionReason,
} from './circuit-breaker.js';
export {
  deadlineExceeded,
  deadlineOf,
  inheritDeadline,
  isDeadlineExceeded,
  raceSignal,
  runWithDeadline,
  withDeadline,
  type Deadline,
  type DeadlineOptions,
} from './deadline.js';
export { DeadlineHeap } from './deadline-heap.js';
export { BREAKER_OPEN, DEADLINE_EXCEEDED, QUEUE_FULL, RESILIENCE_INVALID_OPTION, RETRY_EXHAUSTED, SEMAPHORE_FULL } from './errors.js';
export { FlapDetector, type Ban, type BanListener, type FlapDetectorCounters, type FlapDetectorOptions } from './flap-detector.js';
export { KeyedRateLimiter, type KeyTableFullPolicy, type KeyedRateLimiterCounters, type KeyedRateLimiterOptions } from './keyed-rate-limiter.js';
export { KeyedSemaphore, fnv1a, type KeyedSemaphoreCounters, type KeyedSemaphoreOptions, type Release } from './keyed-semaphore.js';
export {
  LoadShedder,
  NodeLoadSampler,
  Priority,
  type LevelListener,
  type LoadSample,
  type LoadSampler,
  type LoadShedderCounters,
  type LoadShedderOptions,
  type LoadThresholds,
  type NodeLoadSamplerOptions,
} from './load-shedder.js';
export { OutcomeWindow } from './outcome-window.js';
export { Backoff, backoffDelay, retry, type BackoffOptions, type Jitter, type RetryGiveUp, type RetryOptions } from './retry.js';
export { sleep, timerScheduler, type Scheduler } from './scheduler.js';
export { BucketShape, TokenBucket, type TokenBucketCounters, type TokenBucketOptions } from './token-bucket.js';
export { WaitLine, type LineNode } from './wait-line.js';
