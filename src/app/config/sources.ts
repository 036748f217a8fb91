/**
 * Command-line flags and their environment twins (INTERFACES.md): each sets one config
 * key. Precedence: defaults < file < environment < flags. Values arrive as strings and
 * are converted here only as far as their shape is clear (a port "1883" becomes 1883,
 * "off" becomes null); anything else is passed on as the string so that the schema
 * reports it with the key's path.
 */

export type TwinKind = 'port' | 'string';

export interface Twin {
  /** Long flag name without the dashes. */
  flag: string;
  env: string;
  /** Config key the value lands on; undefined for --config (it names the file). */
  path: readonly string[] | undefined;
  kind: TwinKind;
  help: string;
}

export const TWINS: readonly Twin[] = [
  { flag: 'config', env: 'HOLDFAST_CONFIG', path: undefined, kind: 'string', help: 'YAML config file' },
  { flag: 'mqtt-port', env: 'HOLDFAST_MQTT_PORT', path: ['listeners', 'mqtt', 'port'], kind: 'port', help: 'MQTT over TCP port (default 1883)' },
  { flag: 'ws-port', env: 'HOLDFAST_WS_PORT', path: ['listeners', 'ws', 'port'], kind: 'port', help: 'MQTT over WebSocket port (default 8083, path /mqtt)' },
  { flag: 'tls-port', env: 'HOLDFAST_TLS_PORT', path: ['listeners', 'tls', 'port'], kind: 'port', help: 'MQTT over TLS port (default 8883, needs a certificate and key)' },
  { flag: 'http-port', env: 'HOLDFAST_HTTP_PORT', path: ['http', 'port'], kind: 'port', help: 'HTTP port: /livez /readyz /healthz (default 8080)' },
  { flag: 'bind', env: 'HOLDFAST_BIND', path: ['listeners', 'bind'], kind: 'string', help: 'address to listen on (default 0.0.0.0)' },
  { flag: 'data-dir', env: 'HOLDFAST_DATA_DIR', path: ['dataDir'], kind: 'string', help: 'data directory (default ./data)' },
  { flag: 'log-level', env: 'HOLDFAST_LOG_LEVEL', path: ['log', 'level'], kind: 'string', help: 'fatal|error|warn|info|debug|trace|silent (default info)' },
];

/** Flag / env values by flag name ('mqtt-port' -> '1883'). */
export type FlagValues = Partial<Record<string, string>>;
export type EnvValues = Readonly<Record<string, string | undefined>>;

/** One layer of settings with, per key path ("listeners.mqtt.port"), where it came from. */
export interface Layer {
  values: Record<string, unknown>;
  origins: Map<string, string>;
}

const PORT_OFF = new Set(['off', 'false', 'null', 'none', 'disabled']);

export function convertTwinValue(kind: TwinKind, raw: string): unknown {
  if (kind !== 'port') return raw;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (PORT_OFF.has(text.toLowerCase())) return null;
  return raw; // the schema reports it: "expected a port number ..."
}

function set(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (node[key] = typeof next === 'object' && next !== null ? next : {}) as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function layerFrom(pick: (t: Twin) => { value: string | undefined; origin: string }): Layer {
  const layer: Layer = { values: {}, origins: new Map() };
  for (const twin of TWINS) {
    if (twin.path === undefined) continue;
    const { value, origin } = pick(twin);
    // An empty variable (`Environment=HOLDFAST_MQTT_PORT=`) counts as unset.
    if (value === undefined || value === '') continue;
    set(layer.values, twin.path, convertTwinValue(twin.kind, value));
    layer.origins.set(twin.path.join('.'), origin);
  }
  return layer;
}

export function envLayer(env: EnvValues): Layer {
  return layerFrom((t) => ({ value: env[t.env], origin: `environment variable ${t.env}` }));
}

export function flagLayer(flags: FlagValues): Layer {
  return layerFrom((t) => ({ value: flags[t.flag], origin: `flag --${t.flag}` }));
}

/** The config file named by --config, else HOLDFAST_CONFIG, else none. */
export function configFileFrom(flags: FlagValues, env: EnvValues): string | undefined {
  const fromFlag = flags['config'];
  if (fromFlag !== undefined && fromFlag !== '') return fromFlag;
  const fromEnv = env['HOLDFAST_CONFIG'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
}

/** The flag and environment variable that set a config key, for error messages. */
export function twinFor(path: string): Twin | undefined {
  return TWINS.find((t) => t.path?.join('.') === path);
}
