/**
 * From the validated config to what the parts of the process take: BrokerConfig (1:1 for
 * mqtt/session/limits/acl/auth), ListenersConfig (TLS PEM files read here: a file that
 * cannot be read is a config error naming it), and the app's own settings.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { AclRule, BrokerConfig } from '../../broker/config.js';
import type { ListenersConfig } from '../../broker/transport/listeners-api.js';
import { anonymousAllowed } from '../../platform/auth/index.js';
import type { HoldfastConfig } from './schema.js';
import { configError } from './problems.js';

export interface RuntimeConfig {
  broker: BrokerConfig;
  listeners: ListenersConfig;
  http: { host: string; port: number | null };
  httpTokens: { token: string; role: 'admin' | 'read' }[];
  /** Absolute path. */
  dataDir: string;
  log: HoldfastConfig['log'];
  store: HoldfastConfig['store'];
  platform: HoldfastConfig['platform'];
  shutdownTimeoutMs: number;
  observability: HoldfastConfig['observability'];
  slo: HoldfastConfig['slo'];
  /** Northbound bridges and the JetStream ingress (docs/bridges.md). */
  bridges: HoldfastConfig['bridges'];
}

const portOf = (p: number | null | false): number | null => (p === false ? null : p);

export function toBrokerConfig(config: HoldfastConfig): BrokerConfig {
  const rules: AclRule[] = config.acl.rules.map((r) => ({
    action: r.action,
    topic: r.topic,
    allow: r.allow,
    ...(r.clientId !== undefined ? { clientId: r.clientId } : {}),
    ...(r.username !== undefined ? { username: r.username } : {}),
  }));
  const users = config.auth.users.map((u) => ({ username: u.username, passwordHash: u.passwordHash }));
  return {
    mqtt: { ...config.mqtt },
    session: { ...config.session },
    limits: { ...config.limits },
    acl: { rules, deniedSubscribeReasonCode: config.acl.deniedSubscribeReasonCode },
    admission: { ...config.admission },
    overload: { ...config.overload },
    clientLimits: { ...config.clientLimits },
    flapping: { ...config.flapping },
    auth: {
      breakerFailures: config.auth.breakerFailures,
      breakerOpenMs: config.auth.breakerOpenMs,
      allowAnonymous: anonymousAllowed({ users, allowAnonymous: config.auth.allowAnonymous }),
      users,
    },
  };
}

async function readPem(key: string, file: string, cwd: string, problems: string[]): Promise<string | undefined> {
  const path = resolve(cwd, file);
  try {
    const text = await readFile(path, 'utf8');
    if (!text.includes('-----BEGIN ')) {
      problems.push(`listeners.tls.${key}: ${file} is not a PEM file (no -----BEGIN line)`);
      return undefined;
    }
    return text;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? String(err));
    problems.push(`listeners.tls.${key}: cannot read ${file}: ${why}`);
    return undefined;
  }
}

export async function toListenersConfig(config: HoldfastConfig, cwd = process.cwd()): Promise<ListenersConfig> {
  const l = config.listeners;
  const tlsPort = portOf(l.tls.port);
  let tls: ListenersConfig['tls'] = null;
  // INTERFACES.md: TLS listens only when both a certificate and a key are configured.
  if (tlsPort !== null && l.tls.certFile !== undefined && l.tls.keyFile !== undefined) {
    const problems: string[] = [];
    const cert = await readPem('certFile', l.tls.certFile, cwd, problems);
    const key = await readPem('keyFile', l.tls.keyFile, cwd, problems);
    const ca = l.tls.caFile !== undefined ? await readPem('caFile', l.tls.caFile, cwd, problems) : undefined;
    if (problems.length > 0 || cert === undefined || key === undefined) throw configError('TLS files', problems);
    tls = { port: tlsPort, cert, key, ...(ca !== undefined ? { ca } : {}), requestCert: l.tls.requestCert };
  }
  return {
    bind: l.bind,
    mqttPort: portOf(l.mqtt.port),
    wsPort: portOf(l.ws.port),
    wsPath: l.ws.path,
    tls,
    backlog: l.backlog,
    warmupConnections: l.warmupConnections,
  };
}

export async function toRuntimeConfig(config: HoldfastConfig, cwd = process.cwd()): Promise<RuntimeConfig> {
  return {
    broker: toBrokerConfig(config),
    listeners: await toListenersConfig(config, cwd),
    http: { host: config.listeners.bind, port: portOf(config.http.port) },
    httpTokens: config.http.tokens.map((t) => ({ token: t.token, role: t.role })),
    dataDir: resolve(cwd, config.dataDir),
    log: { ...config.log },
    store: { ...config.store },
    platform: structuredClone(config.platform),
    shutdownTimeoutMs: config.shutdown.timeoutMs,
    observability: structuredClone(config.observability),
    slo: structuredClone(config.slo),
    bridges: structuredClone(config.bridges),
  };
}
