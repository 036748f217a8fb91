/**
 * What an operator sees when holdfast cannot start: one line on stderr that says what is
 * wrong and which flag (and environment variable) fixes it, no stack trace. A bad config
 * is the exception: it lists every problem, one per line.
 */
import { isHoldfastError } from '../errors/index.js';
import { formatConfigError } from './config/index.js';

export type ListenerKind = 'mqtt' | 'ws' | 'tls' | 'wss' | 'http';

const LISTENERS: Record<ListenerKind, { name: string; flag: string; env: string }> = {
  mqtt: { name: 'MQTT listener', flag: '--mqtt-port', env: 'HOLDFAST_MQTT_PORT' },
  ws: { name: 'WebSocket listener', flag: '--ws-port', env: 'HOLDFAST_WS_PORT' },
  tls: { name: 'TLS listener', flag: '--tls-port', env: 'HOLDFAST_TLS_PORT' },
  wss: { name: 'secure WebSocket listener', flag: '--ws-port', env: 'HOLDFAST_WS_PORT' },
  http: { name: 'HTTP server', flag: '--http-port', env: 'HOLDFAST_HTTP_PORT' },
};

/** The ports holdfast was asked to use, to name the listener behind a bare socket error. */
export type ConfiguredPorts = Partial<Record<ListenerKind, number | null>>;

interface SocketErrorInfo {
  code: string;
  port: number | undefined;
  address: string | undefined;
  listener: ListenerKind | undefined;
}

function socketError(err: unknown): SocketErrorInfo | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const errno = e as NodeJS.ErrnoException & { port?: number; address?: string };
    if (isHoldfastError(e) && e.details !== undefined && typeof e.details.port === 'number') {
      const code = e.code === 'TRANSPORT_ADDRESS_IN_USE' ? 'EADDRINUSE' : (errno.cause as NodeJS.ErrnoException | undefined)?.code;
      if (code !== undefined) {
        return {
          code,
          port: e.details.port,
          address: typeof e.details.host === 'string' ? e.details.host : undefined,
          listener: typeof e.details.listener === 'string' ? (e.details.listener as ListenerKind) : undefined,
        };
      }
    }
    if (typeof errno.code === 'string' && (errno.syscall === 'listen' || errno.syscall === 'bind')) {
      return { code: errno.code, port: errno.port, address: errno.address, listener: undefined };
    }
  }
  return undefined;
}

function listenerForPort(port: number | undefined, ports: ConfiguredPorts): ListenerKind | undefined {
  if (port === undefined || port === 0) return undefined;
  const hits = (Object.keys(ports) as ListenerKind[]).filter((k) => ports[k] === port);
  return hits.length === 1 ? hits[0] : undefined;
}

function chooseAnother(kind: ListenerKind | undefined): string {
  if (kind === undefined) return 'choose other ports with --mqtt-port, --ws-port, --tls-port or --http-port';
  const l = LISTENERS[kind];
  return `choose another with ${l.flag} or ${l.env}`;
}

/** The text for stderr (one line, except for config problems). */
export function formatStartupError(err: unknown, ports: ConfiguredPorts = {}): string {
  const config = formatConfigError(err);
  if (config !== undefined) return config;

  const sock = socketError(err);
  if (sock !== undefined) {
    const kind = sock.listener ?? listenerForPort(sock.port, ports);
    const what = kind !== undefined ? ` (${LISTENERS[kind].name})` : '';
    if (sock.code === 'EADDRINUSE') {
      return `holdfast: port ${sock.port ?? '?'} is already in use${what}; ${chooseAnother(kind)}`;
    }
    if (sock.code === 'EACCES') {
      return `holdfast: not permitted to listen on port ${sock.port ?? '?'}${what} (ports below 1024 need privileges); ${chooseAnother(kind)}`;
    }
    if (sock.code === 'EADDRNOTAVAIL' || sock.code === 'ENOTFOUND') {
      return `holdfast: cannot listen on address ${sock.address ?? '?'}: not an address of this machine; choose another with --bind or HOLDFAST_BIND`;
    }
  }
  if (isHoldfastError(err, 'APP_DATA_DIR')) {
    return `holdfast: ${err.message}; choose another with --data-dir or HOLDFAST_DATA_DIR`;
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = isHoldfastError(err) ? ` [${err.code}]` : '';
  return `holdfast: failed to start: ${message.split('\n')[0]}${code}`;
}
