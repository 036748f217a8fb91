/**
 * One section of the config that can change while holdfast runs. The reloader (reloader.ts)
 * asks every applier which changed settings it owns, lets each prepare its change (this may
 * fail: the reload is then refused and nothing changes), and only when all are prepared
 * commits them, in order. A setting no applier owns is reported as pending a restart.
 *
 * New live sections (e.g. bridges) are added with `reloader.addApplier(...)`.
 */
import type { HoldfastConfig } from '../config/index.js';
import type { RuntimeConfig } from '../config/to-runtime.js';

export interface ConfigSnapshot {
  readonly config: HoldfastConfig;
  readonly runtime: RuntimeConfig;
}

export interface ApplyContext {
  readonly previous: ConfigSnapshot;
  readonly next: ConfigSnapshot;
  /** The changed setting paths this applier owns ("acl.rules", "log.level"). */
  readonly changed: readonly string[];
}

/** Makes the prepared change. Should not throw; if it does, the reload reports `failed`. */
export type Commit = () => void | Promise<void>;

export interface SectionApplier {
  /** Shown in logs and in the reload result. */
  readonly name: string;
  /** True when this applier changes `path` live (now: e.g. TLS only while a TLS listener runs). */
  owns(path: string): boolean;
  /**
   * Checks that the change can be made; throws a problem (an Error whose message names the
   * setting, e.g. "listeners.tls.keyFile: key does not match the certificate") otherwise.
   */
  prepare(ctx: ApplyContext): Commit | Promise<Commit>;
}
