/**
 * Hot reload of the config (issue 8): load and validate the new config first, then apply
 * what can change live and report the rest as pending a restart.
 *
 * - A config that does not load or validate (or a live change that cannot be prepared, e.g.
 *   a key that does not fit its certificate) changes nothing: the running config stays, and
 *   the outcome lists every problem with its setting's path.
 * - Every applied config gets the next revision number (1 is the config started with) and a
 *   hash (revision.ts). A config whose hash is the running one is a no-op: no new revision.
 * - pendingRestart lists the settings that differ from the config the process started with
 *   and that no applier changes live (ports, bind, dataDir, store...).
 * - Reloads run one at a time, in the order asked (SIGHUP, file change, API).
 */
import { configProblems, type HoldfastConfig } from '../config/index.js';
import { toRuntimeConfig } from '../config/to-runtime.js';
import type { Logger } from '../../observability/logger.js';
import type { ApplyContext, Commit, ConfigSnapshot, SectionApplier } from './applier.js';
import { changedPaths, TLS_FILES_PATH } from './diff.js';
import { configHash, tlsDigest } from './revision.js';

export type ReloadTrigger = 'signal' | 'file' | 'api' | 'manual';
export type ReloadResult = 'applied' | 'unchanged' | 'invalid' | 'failed';

export interface AppliedRevision {
  readonly revision: number;
  readonly hash: string;
  /** Epoch ms. */
  readonly appliedAt: number;
  readonly pendingRestart: readonly string[];
  readonly snapshot: ConfigSnapshot;
}

export type ReloadOutcome =
  | { result: 'applied'; trigger: ReloadTrigger; revision: number; hash: string; changed: string[]; applied: string[]; pendingRestart: string[] }
  | { result: 'unchanged'; trigger: ReloadTrigger; revision: number; hash: string; pendingRestart: string[] }
  | { result: 'invalid'; trigger: ReloadTrigger; revision: number; hash: string; source: string; problems: string[] }
  | { result: 'failed'; trigger: ReloadTrigger; revision: number; hash: string; problems: string[] };

export interface ConfigReloaderOptions {
  /** The config the process started with (revision 1). */
  initial: ConfigSnapshot;
  /** Reads and validates the config again (file < environment < flags), as at start. */
  load: () => Promise<HoldfastConfig>;
  /** Base for relative paths (TLS files), as at start. */
  cwd?: string;
  logger: Logger;
  appliers?: SectionApplier[];
  now?: () => number;
}

export class ConfigReloader {
  private readonly appliers: SectionApplier[];
  private readonly boot: ConfigSnapshot;
  private current: AppliedRevision;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  /** Reloads by result, for holdfast_config_reload_total. */
  readonly counts = new Map<ReloadResult, number>();

  constructor(private readonly o: ConfigReloaderOptions) {
    this.appliers = [...(o.appliers ?? [])];
    this.now = o.now ?? Date.now;
    this.boot = o.initial;
    this.current = { revision: 1, hash: configHash(o.initial.config, o.initial.runtime), appliedAt: this.now(), pendingRestart: [], snapshot: o.initial };
  }

  /** Adds a live section (e.g. bridges). Appliers are asked in the order they were added. */
  addApplier(applier: SectionApplier): void {
    this.appliers.push(applier);
  }

  /** The running revision. */
  get running(): AppliedRevision {
    return this.current;
  }

  /** Loads, validates and applies the config; never rejects (problems are in the outcome). */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const run = this.queue.then(() => this.run(trigger)).catch((err: unknown): ReloadOutcome => {
      // A bug, not a bad config: reported as failed, the queue goes on.
      this.count('failed');
      this.o.logger.error({ err, event: 'config-reload', trigger }, 'config reload failed');
      return { result: 'failed', trigger, revision: this.current.revision, hash: this.current.hash, problems: [err instanceof Error ? err.message : String(err)] };
    });
    this.queue = run;
    return run;
  }

  private count(result: ReloadResult): void {
    this.counts.set(result, (this.counts.get(result) ?? 0) + 1);
  }

  /** The changed paths between two snapshots, with the contents of the TLS files as one more setting. */
  private diff(a: ConfigSnapshot, b: ConfigSnapshot): string[] {
    const paths = changedPaths(a.config, b.config);
    const named = ['listeners.tls.certFile', 'listeners.tls.keyFile', 'listeners.tls.caFile'];
    if (tlsDigest(a.runtime) !== tlsDigest(b.runtime) && !paths.some((p) => named.includes(p))) paths.push(TLS_FILES_PATH);
    return paths;
  }

  private ownerOf(path: string): SectionApplier | undefined {
    return this.appliers.find((a) => a.owns(path));
  }

  private async run(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const { logger } = this.o;
    const cur = this.current;
    let next: ConfigSnapshot;
    try {
      const config = await this.o.load();
      next = { config, runtime: await toRuntimeConfig(config, this.o.cwd) };
    } catch (err) {
      const p = configProblems(err) ?? { source: 'config', problems: [err instanceof Error ? err.message : String(err)] };
      return this.refused(trigger, 'invalid', p.source, p.problems);
    }
    const hash = configHash(next.config, next.runtime);
    const pendingRestart = this.diff(this.boot, next).filter((p) => this.ownerOf(p) === undefined);
    if (hash === cur.hash) {
      this.count('unchanged');
      logger.info({ event: 'config-reload', trigger, result: 'unchanged', revision: cur.revision, hash }, 'config reload: unchanged, nothing to do');
      return { result: 'unchanged', trigger, revision: cur.revision, hash, pendingRestart: [...cur.pendingRestart] };
    }

    const changed = this.diff(cur.snapshot, next);
    const byApplier = new Map<SectionApplier, string[]>();
    for (const path of changed) {
      const owner = this.ownerOf(path);
      if (owner !== undefined) byApplier.set(owner, [...(byApplier.get(owner) ?? []), path]);
    }
    // Prepare everything before changing anything: one refusal leaves the running config whole.
    const commits: Array<{ applier: SectionApplier; commit: Commit }> = [];
    const problems: string[] = [];
    for (const [applier, paths] of byApplier) {
      const ctx: ApplyContext = { previous: cur.snapshot, next, changed: paths };
      try {
        commits.push({ applier, commit: await applier.prepare(ctx) });
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (problems.length > 0) return this.refused(trigger, 'invalid', 'live change', problems);

    const failures: string[] = [];
    for (const { applier, commit } of commits) {
      try {
        await commit();
      } catch (err) {
        failures.push(`${applier.name}: ${err instanceof Error ? err.message : String(err)}`);
        logger.error({ err, event: 'config-reload', applier: applier.name }, 'config reload: applying a section failed');
      }
    }
    const applied = [...byApplier.values()].flat();
    this.current = { revision: cur.revision + 1, hash, appliedAt: this.now(), pendingRestart, snapshot: next };
    if (failures.length > 0) {
      // The revision moves on: most of it is in effect, and the same file again must be tried again.
      this.count('failed');
      return { result: 'failed', trigger, revision: this.current.revision, hash, problems: failures };
    }
    this.count('applied');
    const line = { event: 'config-reload', trigger, result: 'applied', revision: this.current.revision, hash, applied, pendingRestart };
    logger.info(line, 'config reloaded');
    if (pendingRestart.length > 0) logger.warn({ event: 'config-pending-restart', pendingRestart }, 'config reload: some settings take effect only after a restart');
    return { result: 'applied', trigger, revision: this.current.revision, hash, changed, applied, pendingRestart };
  }

  private refused(trigger: ReloadTrigger, result: 'invalid', source: string, problems: string[]): ReloadOutcome {
    const cur = this.current;
    this.count(result);
    this.o.logger.error(
      { event: 'config-reload', trigger, result, revision: cur.revision, source, problems },
      `config reload refused, the running config (revision ${cur.revision}) is kept: ${problems.length} problem(s)`,
    );
    return { result, trigger, revision: cur.revision, hash: cur.hash, source, problems };
  }
}
