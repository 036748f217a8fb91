/**
 * The live sections of the config, one applier each (applier.ts): broker limits, ACL and
 * users; log level; HTTP API tokens; TLS certificates; bridges (when the engine is given).
 * SLOs are in slo-applier.ts.
 */
import { createSecureContext } from 'node:tls';
import type { Broker } from '../../broker/broker.js';
import type { Listeners } from '../../broker/transport/listeners-api.js';
import type { Logger } from '../../observability/logger.js';
import { createStaticAuth } from '../../platform/auth/index.js';
import type { HoldfastConfig } from '../config/index.js';
import type { RuntimeConfig } from '../config/to-runtime.js';
import type { Commit, SectionApplier } from './applier.js';
import { isUnder, TLS_FILES_PATH } from './diff.js';
import type { LiveStaticAccess } from './live-access.js';

const under = (path: string, prefixes: readonly string[]): boolean => prefixes.some((p) => isUnder(path, p));

/** mqtt, limits, admission, clientLimits, acl, auth.users / auth.allowAnonymous (broker/live-config.ts). */
export function brokerApplier(broker: Broker, access: LiveStaticAccess): SectionApplier {
  const live = ['mqtt', 'limits', 'admission', 'clientLimits', 'acl', 'auth.users', 'auth.allowAnonymous'];
  return {
    name: 'broker',
    owns: (path) => under(path, live),
    prepare({ next }): Commit {
      const b = next.runtime.broker;
      // Compiles the users' hashes now, so that a bad one refuses the reload instead of failing half-way.
      createStaticAuth({ users: b.auth.users, allowAnonymous: b.auth.allowAnonymous });
      return () => {
        // Same turn: no packet sees the new limits with the old ACL or the other way round.
        broker.updateConfig({ mqtt: b.mqtt, limits: b.limits, admission: b.admission, clientLimits: b.clientLimits, acl: b.acl, auth: b.auth });
        access.update(b);
      };
    },
  };
}

/** log.level: the root logger and every child logger follow it at once. */
export function logLevelApplier(logger: Logger): SectionApplier {
  return {
    name: 'log',
    owns: (path) => path === 'log.level',
    prepare({ next }): Commit {
      return () => {
        logger.level = next.config.log.level;
      };
    },
  };
}

/** http.tokens: the HTTP server and the admin API read the same list at each request. */
export function httpTokensApplier(tokens: RuntimeConfig['httpTokens']): SectionApplier {
  return {
    name: 'http.tokens',
    owns: (path) => path === 'http.tokens',
    prepare({ next }): Commit {
      return () => {
        tokens.splice(0, tokens.length, ...next.runtime.httpTokens.map((t) => ({ ...t })));
      };
    },
  };
}

/**
 * listeners.tls.certFile / keyFile / caFile and the files' contents: new handshakes get the
 * new certificate (tlsServer.setSecureContext), connections already up keep theirs. Live
 * only while a TLS listener runs and stays on; turning TLS on or off needs a restart.
 */
export function tlsApplier(listeners: () => Listeners | undefined, boot: RuntimeConfig): SectionApplier {
  const files = ['listeners.tls.certFile', 'listeners.tls.keyFile', 'listeners.tls.caFile', TLS_FILES_PATH];
  return {
    name: 'tls',
    owns: (path) => boot.listeners.tls !== null && listeners()?.updateTls !== undefined && files.includes(path),
    prepare({ next }): Commit {
      const tls = next.runtime.listeners.tls;
      if (tls === null) throw new Error('listeners.tls: TLS cannot be turned off without a restart');
      try {
        createSecureContext({ cert: tls.cert, key: tls.key, ca: tls.ca });
      } catch (err) {
        throw new Error(`listeners.tls: the certificate and key cannot be used: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      return () => {
        listeners()?.updateTls?.(tls);
      };
    },
  };
}

/** What the bridges offer for a reload (src/app/bridges.ts BridgesHandle.reconfigure). */
export interface ReloadableBridges {
  reconfigure(config: HoldfastConfig['bridges']): Promise<unknown>;
}

/**
 * bridges.sinks and bridges.routes: the engine's own reload (new routes first, changed sinks
 * restarted, removed ones stopped). bridges.instanceId and bridges.ingress need a restart.
 */
export function bridgesApplier(bridges: ReloadableBridges): SectionApplier {
  return {
    name: 'bridges',
    owns: (path) => isUnder(path, 'bridges.sinks') || isUnder(path, 'bridges.routes'),
    prepare({ next }): Commit {
      return async () => {
        await bridges.reconfigure(next.config.bridges);
      };
    },
  };
}
