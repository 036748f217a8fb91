import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BROKER_CONFIG } from '../../../src/broker/config.js';
import {
  configProblems,
  formatConfigError,
  loadConfig,
  toBrokerConfig,
  toListenersConfig,
  toRuntimeConfig,
  TWINS,
  type LoadConfigOptions,
} from '../../../src/app/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'holdfast-config-'));
let n = 0;
function yamlFile(text: string): string {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(file, text);
  return file;
}

async function problemsOf(opts: LoadConfigOptions): Promise<string[]> {
  try {
    await loadConfig(opts);
  } catch (err) {
    const p = configProblems(err);
    if (p !== undefined) return p.problems;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('config defaults', () => {
  it('maps to exactly DEFAULT_BROKER_CONFIG when nothing is set', async () => {
    const { config } = await loadConfig();
    expect(toBrokerConfig(config)).toEqual(DEFAULT_BROKER_CONFIG);
  });

  it('has the documented listener defaults: MQTT 1883, WS 8083 /mqtt, HTTP 8080, no TLS, bind 0.0.0.0, ./data', async () => {
    const rt = await toRuntimeConfig((await loadConfig()).config, '/srv');
    expect(rt.listeners).toMatchObject({ bind: '0.0.0.0', mqttPort: 1883, wsPort: 8083, wsPath: '/mqtt', tls: null });
    expect(rt.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(rt.dataDir).toBe('/srv/data');
  });

  it('an empty file is all defaults', async () => {
    const { config } = await loadConfig({ file: yamlFile('') });
    expect(toBrokerConfig(config)).toEqual(DEFAULT_BROKER_CONFIG);
  });
});

describe('config precedence: defaults < file < environment < flags', () => {
  const twinValues: Record<string, [file: string, env: string, flag: string]> = {
    'mqtt-port': ['1001', '1002', '1003'],
    'ws-port': ['2001', '2002', '2003'],
    'http-port': ['3001', '3002', '3003'],
    bind: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    'data-dir': ['/d/file', '/d/env', '/d/flag'],
    'log-level': ['warn', 'debug', 'trace'],
  };
  const get = (config: unknown, path: readonly string[]): unknown =>
    path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
  const fileFor = (path: readonly string[], raw: string): string => {
    const value = /^\d+$/.test(raw) ? raw : JSON.stringify(raw);
    const yaml = path.map((k, i) => `${'  '.repeat(i)}${k}:${i === path.length - 1 ? ` ${value}` : ''}`).join('\n');
    return yamlFile(`${yaml}\n`);
  };
  const typed = (raw: string): unknown => (/^\d+$/.test(raw) ? Number(raw) : raw);

  for (const twin of TWINS.filter((t) => t.path !== undefined && twinValues[t.flag] !== undefined)) {
    const path = twin.path!;
    const [fileValue, envValue, flagValue] = twinValues[twin.flag]!;
    it(`--${twin.flag} / ${twin.env} -> ${path.join('.')}`, async () => {
      const file = fileFor(path, fileValue);
      const env = { [twin.env]: envValue };
      const flags = { [twin.flag]: flagValue };
      expect(get((await loadConfig({ file })).config, path)).toBe(typed(fileValue));
      expect(get((await loadConfig({ file, env })).config, path)).toBe(typed(envValue));
      expect(get((await loadConfig({ file, env, flags })).config, path)).toBe(typed(flagValue));
      expect(get((await loadConfig({ env, flags })).config, path)).toBe(typed(flagValue));
      const defaults = (await loadConfig()).config;
      expect(get(defaults, path)).not.toBe(typed(fileValue));
    });
  }

  it('--tls-port / HOLDFAST_TLS_PORT -> listeners.tls.port (with a certificate configured)', async () => {
    const file = yamlFile('listeners:\n  tls: { port: 4001, certFile: c.pem, keyFile: k.pem }\n');
    expect((await loadConfig({ file })).config.listeners.tls.port).toBe(4001);
    expect((await loadConfig({ file, env: { HOLDFAST_TLS_PORT: '4002' } })).config.listeners.tls.port).toBe(4002);
    expect((await loadConfig({ file, env: { HOLDFAST_TLS_PORT: '4002' }, flags: { 'tls-port': '4003' } })).config.listeners.tls.port).toBe(4003);
  });

  it('HOLDFAST_CONFIG names the file and --config overrides it', async () => {
    const a = yamlFile('mqtt: { maxKeepAliveS: 11 }\n');
    const b = yamlFile('mqtt: { maxKeepAliveS: 22 }\n');
    expect((await loadConfig({ env: { HOLDFAST_CONFIG: a } })).config.mqtt.maxKeepAliveS).toBe(11);
    expect((await loadConfig({ env: { HOLDFAST_CONFIG: a }, flags: { config: b } })).config.mqtt.maxKeepAliveS).toBe(22);
  });

  it('an empty environment variable counts as unset', async () => {
    const file = yamlFile('listeners: { mqtt: { port: 1234 } }\n');
    expect((await loadConfig({ file, env: { HOLDFAST_MQTT_PORT: '' } })).config.listeners.mqtt.port).toBe(1234);
  });

  it('file values merge key by key with the environment (other keys of the file survive)', async () => {
    const file = yamlFile('listeners:\n  bind: 127.0.0.1\n  mqtt: { port: 1234 }\n  ws: { port: 5678, path: /ws }\n');
    const { config } = await loadConfig({ file, env: { HOLDFAST_WS_PORT: '9999' } });
    expect(config.listeners).toMatchObject({ bind: '127.0.0.1', mqtt: { port: 1234 }, ws: { port: 9999, path: '/ws' } });
  });

  it('programmatic overrides win over flags', async () => {
    const { config } = await loadConfig({ flags: { 'mqtt-port': '1' }, overrides: { listeners: { mqtt: { port: 0 } } } });
    expect(config.listeners.mqtt.port).toBe(0);
  });
});

describe('ports', () => {
  it('null, false and "off" disable a listener', async () => {
    const file = yamlFile('listeners:\n  mqtt: { port: null }\n  ws: { port: false }\nhttp: { port: 8080 }\n');
    const { config } = await loadConfig({ file, flags: { 'http-port': 'off' } });
    const l = await toListenersConfig(config);
    expect(l.mqttPort).toBeNull();
    expect(l.wsPort).toBeNull();
    expect((await toRuntimeConfig(config)).http.port).toBeNull();
  });

  it('0 is kept (ephemeral port)', async () => {
    const { config } = await loadConfig({ flags: { 'mqtt-port': '0' } });
    expect((await toListenersConfig(config)).mqttPort).toBe(0);
  });
});

describe('INTERFACES.md keys', () => {
  it('accepts the documented config file verbatim, 0x87 parsed as a number', async () => {
    const file = yamlFile(`mqtt:
  maxKeepAliveS: 60            # returned as Server Keep Alive when a v5 client asks for more
acl:
  deniedSubscribeReasonCode: 0x87   # or 0x80, for old client libraries
  rules:                       # first match wins; no match = allowed
    - { action: subscribe, topic: "test/nosubscribe", allow: false }
    - { action: publish, topic: "devices/%c/#", allow: true }   # %c client id, %u username
    - { action: all, topic: "#", allow: true }                   # action: publish|subscribe|all
`);
    const broker = toBrokerConfig((await loadConfig({ file })).config);
    expect(broker.mqtt.maxKeepAliveS).toBe(60);
    expect(broker.acl.deniedSubscribeReasonCode).toBe(0x87);
    expect(broker.acl.rules).toEqual([
      { action: 'subscribe', topic: 'test/nosubscribe', allow: false },
      { action: 'publish', topic: 'devices/%c/#', allow: true },
      { action: 'all', topic: '#', allow: true },
    ]);
  });

  it('deniedSubscribeReasonCode: 0x80 is accepted, 0x81 is not', async () => {
    const ok = await loadConfig({ file: yamlFile('acl: { deniedSubscribeReasonCode: 0x80 }\n') });
    expect(ok.config.acl.deniedSubscribeReasonCode).toBe(0x80);
    const problems = await problemsOf({ file: yamlFile('acl: { deniedSubscribeReasonCode: 0x81 }\n') });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^acl\.deniedSubscribeReasonCode: expected 0x87 .* or 0x80/);
  });

  it('a rule may carry clientId or username', async () => {
    const file = yamlFile('acl:\n  rules:\n    - { action: all, topic: "x/#", allow: true, clientId: c1 }\n    - { action: all, topic: "y/#", allow: false, username: u1 }\n');
    expect(toBrokerConfig((await loadConfig({ file })).config).acl.rules).toEqual([
      { action: 'all', topic: 'x/#', allow: true, clientId: 'c1' },
      { action: 'all', topic: 'y/#', allow: false, username: 'u1' },
    ]);
  });

  it('sections mqtt, session, limits mirror BrokerConfig key for key', async () => {
    const { config } = await loadConfig();
    for (const section of ['mqtt', 'session', 'limits'] as const) {
      expect(Object.keys(config[section]).sort()).toEqual(Object.keys(DEFAULT_BROKER_CONFIG[section]).sort());
    }
  });
});

describe('every problem, with its path', () => {
  it('lists all problems of a file at once, each with key path and file:line:col', async () => {
    const file = yamlFile(`mqtt:
  maxKeepAliveS: "sixty"
  maxKeepAlive: 5
  maximumQoS: 3
acl:
  rules:
    - { action: sub, topic: "a/#/b", allow: 1 }
listeners:
  mqtt: { port: 70000 }
colour: blue
`);
    const problems = await problemsOf({ file });
    expect(problems).toEqual(
      expect.arrayContaining([
        `mqtt.maxKeepAliveS: expected number, received string (${file}:2:18)`,
        `mqtt.maxKeepAlive: unknown key (did you mean maxKeepAliveS?) (${file}:3:3)`,
        expect.stringMatching(/^mqtt\.maximumQoS: expected one of 0\|1\|2, received 3 /),
        expect.stringMatching(/^acl\.rules\[0\]\.action: expected one of "publish"\|"subscribe"\|"all", received "sub" /),
        expect.stringMatching(/^acl\.rules\[0\]\.topic: not a valid MQTT topic filter: "a\/#\/b" /),
        expect.stringMatching(/^acl\.rules\[0\]\.allow: expected boolean, received number /),
        expect.stringMatching(/^listeners\.mqtt\.port: .*65535.*received 70000 /),
        `colour: unknown key (${file}:10:1)`,
      ]),
    );
    expect(problems).toHaveLength(8);
  });

  it('names the environment variable or flag a bad value came from', async () => {
    const problems = await problemsOf({ env: { HOLDFAST_WS_PORT: 'eighty' }, flags: { 'http-port': '-1', 'log-level': 'loud' } });
    expect(problems).toEqual([
      'listeners.ws.port: expected a port number 0-65535, or null/false to disable, received "eighty" (from environment variable HOLDFAST_WS_PORT)',
      'http.port: expected a port number 0-65535, or null/false to disable, received "-1" (from flag --http-port)',
      expect.stringMatching(/^log\.level: expected one of .*, received "loud" \(from flag --log-level\)$/),
    ]);
  });

  it('formats the error as a header and one indented line per problem', async () => {
    const file = yamlFile('mqtt: { maxKeepAliveS: x }\nsession: { maxQueuedMessages: -1 }\n');
    const err = await loadConfig({ file }).catch((e: unknown) => e);
    const text = formatConfigError(err)!;
    const lines = text.split('\n');
    expect(lines[0]).toBe(`holdfast: invalid configuration (${file}), 2 problems:`);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^ {2}mqtt\.maxKeepAliveS: /), expect.stringMatching(/^ {2}session\.maxQueuedMessages: /)]);
  });

  it('reports YAML syntax errors with line and column', async () => {
    const file = yamlFile('mqtt:\n  maxKeepAliveS: [1,\n');
    const problems = await problemsOf({ file });
    expect(problems[0]).toMatch(new RegExp(`^${file}:\\d+:\\d+: YAML: `));
  });

  it('rejects duplicate keys in YAML', async () => {
    const problems = await problemsOf({ file: yamlFile('mqtt:\n  maxKeepAliveS: 1\n  maxKeepAliveS: 2\n') });
    expect(problems[0]).toMatch(/YAML: .*[Mm]ap keys must be unique/);
  });

  it('a missing config file is a problem naming the file', async () => {
    const file = join(dir, 'nope.yaml');
    expect(await problemsOf({ file })).toEqual([`cannot read config file ${file}: no such file`]);
  });

  it('a top level that is not a mapping is rejected', async () => {
    const problems = await problemsOf({ file: yamlFile('- a\n- b\n') });
    expect(problems[0]).toMatch(/expected a mapping of settings/);
  });

  it('rejects a bad password hash and duplicate usernames', async () => {
    const problems = await problemsOf({
      file: yamlFile('auth:\n  users:\n    - { username: a, passwordHash: "md5$abc" }\n'),
    });
    expect(problems).toEqual([expect.stringMatching(/^auth\.users\[0\]\.passwordHash: expected scrypt\$N\$r\$p\$salt\$hash/)]);
    const hash = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
    const dup = await problemsOf({
      file: yamlFile(`auth:\n  users:\n    - { username: a, passwordHash: "${hash}" }\n    - { username: a, passwordHash: "${hash}" }\n`),
    });
    expect(dup).toEqual([expect.stringMatching(/^auth\.users\[1\]\.username: duplicate username "a"/)]);
  });

  it('rejects a $share/ filter in an ACL rule', async () => {
    const problems = await problemsOf({ file: yamlFile('acl: { rules: [ { action: all, topic: "$share/g/a", allow: true } ] }\n') });
    expect(problems[0]).toMatch(/^acl\.rules\[0\]\.topic: ACL rules match the filter inside a shared subscription/);
  });
});

describe('auth.allowAnonymous', () => {
  const hash = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
  it('unset: true without users, false with users; explicit values win', async () => {
    const users = `  users:\n    - { username: a, passwordHash: "${hash}" }\n`;
    const load = async (text: string) => toBrokerConfig((await loadConfig({ file: yamlFile(text) })).config).auth.allowAnonymous;
    expect(await load('auth: {}\n')).toBe(true);
    expect(await load(`auth:\n${users}`)).toBe(false);
    expect(await load(`auth:\n  allowAnonymous: true\n${users}`)).toBe(true);
    expect(await load('auth: { allowAnonymous: false }\n')).toBe(false);
  });
});

describe('TLS', () => {
  const pem = (label: string): string => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;

  it('listens only when certFile and keyFile are both set; reads the PEM contents', async () => {
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    const ca = join(dir, 'ca.crt');
    writeFileSync(cert, pem('CERTIFICATE'));
    writeFileSync(key, pem('PRIVATE KEY'));
    writeFileSync(ca, pem('CERTIFICATE'));
    const file = yamlFile(`listeners:\n  tls: { certFile: ${cert}, keyFile: ${key}, caFile: ${ca}, requestCert: true }\n`);
    const l = await toListenersConfig((await loadConfig({ file })).config);
    expect(l.tls).toEqual({ port: 8883, cert: pem('CERTIFICATE'), key: pem('PRIVATE KEY'), ca: pem('CERTIFICATE'), requestCert: true });
  });

  it('a certFile without keyFile is a problem', async () => {
    expect(await problemsOf({ file: yamlFile('listeners: { tls: { certFile: a.crt } }\n') })).toEqual([
      expect.stringMatching(/^listeners\.tls\.keyFile: required when certFile is set/),
    ]);
  });

  it('a TLS port asked for without certificate and key is a problem naming the flag', async () => {
    expect(await problemsOf({ flags: { 'tls-port': '8884' } })).toEqual([
      'listeners.tls.port: TLS needs listeners.tls.certFile and listeners.tls.keyFile (from flag --tls-port)',
    ]);
  });

  it('a missing or non-PEM file is a config error naming the file', async () => {
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const missing = join(dir, 'missing.key');
    const { config } = await loadConfig({ file: yamlFile(`listeners: { tls: { certFile: ${notPem}, keyFile: ${missing} } }\n`) });
    const err = await toListenersConfig(config).catch((e: unknown) => e);
    expect(configProblems(err)?.problems).toEqual([
      `listeners.tls.certFile: ${notPem} is not a PEM file (no -----BEGIN line)`,
      `listeners.tls.keyFile: cannot read ${missing}: no such file`,
    ]);
  });
});
