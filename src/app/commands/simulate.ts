/**
 * `holdfast simulate --devices N --rate R ...`: N simulated meters (src/app/simulator) that
 * are registered through the admin API (or reused from the secrets file), connect with
 * their own credentials, report telemetry at R messages/s over the fleet, answer commands
 * and shadow deltas, and reconnect with exponential backoff and jitter. Prints a summary
 * every --report-s; runs until --duration-s passes or SIGINT/SIGTERM, then disconnects
 * every meter and prints the final summary. Exit 0 then; 1 for a usage error or when the
 * registry cannot be reached; 2/3 as the other API commands (cli-support.ts).
 */
import type { ShutdownSignal } from '../signals.js';
import { clientFrom, EXIT, intFrom, parseCommand, reportFailure, UsageFailure } from '../api/cli-support.js';
import { Fleet } from '../simulator/fleet.js';
import { provision, readSecrets, simDeviceIds } from '../simulator/provision.js';
import { summaryJson, summaryLine } from '../simulator/summary.js';
import type { FleetStats } from '../simulator/fleet.js';
import type { CliIO } from './io.js';
import { SIMULATE_USAGE } from './usage.js';

const OPTIONS = {
  devices: { type: 'string' },
  rate: { type: 'string' },
  'mqtt-host': { type: 'string' },
  'mqtt-port': { type: 'string' },
  protocol: { type: 'string' },
  qos: { type: 'string' },
  topic: { type: 'string' },
  prefix: { type: 'string' },
  type: { type: 'string' },
  secrets: { type: 'string' },
  'no-provision': { type: 'boolean' },
  'connect-rate': { type: 'string' },
  'max-connecting': { type: 'string' },
  'keepalive-s': { type: 'string' },
  clean: { type: 'boolean' },
  'duration-s': { type: 'string' },
  'report-s': { type: 'string' },
  concurrency: { type: 'string' },
  'backoff-base-ms': { type: 'string' },
  'backoff-cap-ms': { type: 'string' },
  'jwt-secret': { type: 'string' },
  'jwt-ttl-s': { type: 'string' },
  'jwt-issuer': { type: 'string' },
  'jwt-audience': { type: 'string' },
} as const;

export async function simulateCommand(args: string[], io: CliIO): Promise<number> {
  let fleet: Fleet | undefined;
  try {
    const { values, positionals } = parseCommand(args, OPTIONS, 'simulate');
    if (values.help === true) {
      io.stdout.write(SIMULATE_USAGE);
      return EXIT.OK;
    }
    if (positionals.length > 0) throw new UsageFailure(`unexpected argument '${positionals[0]}' (see holdfast simulate --help)`);
    const n = intFrom(values.devices, 'devices', 1);
    if (n === undefined) throw new UsageFailure('simulate needs --devices N');
    const rateText = String(values.rate ?? n / 60);
    const ratePerS = Number(rateText);
    if (!Number.isFinite(ratePerS) || ratePerS < 0) throw new UsageFailure(`--rate needs messages per second (>= 0), got "${rateText}"`);
    const protocol = values.protocol === undefined ? 5 : values.protocol === 'mixed' ? 'mixed' : Number(values.protocol);
    if (protocol !== 4 && protocol !== 5 && protocol !== 'mixed') throw new UsageFailure('--protocol is 4 (MQTT 3.1.1), 5 or mixed');
    const qos = intFrom(values.qos, 'qos') ?? 0;
    if (qos !== 0 && qos !== 1) throw new UsageFailure('--qos is 0 or 1');
    const api = clientFrom(values, io);
    const mqttPort = intFrom(values['mqtt-port'] ?? io.env.HOLDFAST_MQTT_PORT, 'mqtt-port', 1) ?? 1883;
    const host = (values['mqtt-host'] as string | undefined) ?? new URL(api.baseUrl).hostname.replace(/^\[|\]$/g, '');
    const secretsPath = (values.secrets as string | undefined) ?? 'holdfast-sim-secrets.json';
    const ids = simDeviceIds((values.prefix as string | undefined) ?? 'sim-', n);
    const json = values.json === true;
    const note = (line: string): void => void io.stderr.write(`${line}\n`);
    const jwtSecret = (values['jwt-secret'] as string | undefined) ?? io.env.HOLDFAST_SIM_JWT_SECRET;
    const jwt =
      jwtSecret === undefined
        ? undefined
        : {
            secret: jwtSecret,
            ttlS: intFrom(values['jwt-ttl-s'], 'jwt-ttl-s', 1) ?? 3600,
            ...(values['jwt-issuer'] === undefined ? {} : { issuer: String(values['jwt-issuer']) }),
            ...(values['jwt-audience'] === undefined ? {} : { audience: String(values['jwt-audience']) }),
          };
    if (jwt !== undefined && Buffer.byteLength(jwt.secret) < 32) throw new UsageFailure('--jwt-secret needs at least 32 bytes (RFC 7518 3.2)');

    let devices: { id: string; secret?: string }[];
    if (values['no-provision'] === true && jwt !== undefined) devices = ids.map((id) => ({ id }));
    else if (values['no-provision'] === true) {
      const file = await readSecrets(secretsPath);
      const missing = ids.filter((id) => file.secrets[id] === undefined);
      if (missing.length > 0) throw new UsageFailure(`--no-provision: ${missing.length} device(s) have no secret in ${secretsPath} (first: ${missing[0]})`);
      devices = ids.map((id) => ({ id, secret: file.secrets[id]! }));
    } else {
      const started = Date.now();
      const r = await provision(api, {
        ids,
        type: (values.type as string | undefined) ?? 'meter',
        secretsPath,
        concurrency: intFrom(values.concurrency, 'concurrency', 1) ?? 16,
        noSecrets: jwt !== undefined,
        progress: (done, total) => (done < total ? note(`provisioning: ${done}/${total}`) : undefined),
      });
      devices = r.devices;
      const where = jwt === undefined ? `; secrets in ${secretsPath}` : '; connecting with HS256 tokens';
      note(`devices: ${r.created} created, ${r.reused} reused, ${r.rotated} given a new secret (${((Date.now() - started) / 1000).toFixed(1)} s${where})`);
    }

    const f = new Fleet({
      host,
      port: mqttPort,
      protocol,
      keepaliveS: intFrom(values['keepalive-s'], 'keepalive-s') ?? 60,
      clean: values.clean === true,
      sessionExpiryS: 3600,
      connectTimeoutMs: 10_000,
      telemetryTopic: (values.topic as string | undefined) ?? 'devices/{deviceId}/telemetry',
      ratePerS,
      qos,
      connectRatePerS: intFrom(values['connect-rate'], 'connect-rate', 1) ?? 500,
      maxConnecting: intFrom(values['max-connecting'], 'max-connecting', 1) ?? 64,
      ...(jwt === undefined ? {} : { jwt }),
      backoff: { baseMs: intFrom(values['backoff-base-ms'], 'backoff-base-ms', 1) ?? 500, capMs: intFrom(values['backoff-cap-ms'], 'backoff-cap-ms', 1) ?? 30_000 },
    });
    fleet = f;
    note(`simulating ${n} meters against mqtt://${host}:${mqttPort} (MQTT ${protocol === 'mixed' ? '3.1.1 and 5.0' : protocol === 5 ? '5.0' : '3.1.1'}), telemetry ${ratePerS}/s QoS ${qos}`);
    f.start(devices);

    const reportMs = (intFrom(values['report-s'], 'report-s', 1) ?? 5) * 1000;
    const durationS = intFrom(values['duration-s'], 'duration-s', 1);
    let prev: FleetStats | undefined;
    const report = setInterval(() => {
      const s = f.stats();
      io.stdout.write(`${json ? summaryJson(s, 'progress') : summaryLine(s, prev)}\n`);
      prev = s;
    }, reportMs);
    await new Promise<void>((resolve) => {
      const timer = durationS === undefined ? undefined : setTimeout(finish, durationS * 1000);
      const onSignal = (sig: ShutdownSignal): void => {
        note(`${sig}: disconnecting the meters`);
        finish();
      };
      function finish(): void {
        if (timer !== undefined) clearTimeout(timer);
        io.signals.off('SIGINT', onSignal);
        io.signals.off('SIGTERM', onSignal);
        resolve();
      }
      io.signals.on('SIGINT', onSignal);
      io.signals.on('SIGTERM', onSignal);
    });
    clearInterval(report);
    const final = f.stats();
    f.stop();
    io.stdout.write(`${json ? summaryJson(final, 'final') : `final: ${summaryLine(final, undefined)}`}\n`);
    return EXIT.OK;
  } catch (err) {
    fleet?.stop();
    return reportFailure(err, io, 'simulate');
  }
}
