/** Help texts. The flags of `start` come from the one table of flags and env twins. */
import { TWINS } from '../config/sources.js'; // not config/index.js: --help must not load the schema

const flagLines = TWINS.map((t) => {
  const left = `  --${t.flag} ${t.flag === 'config' ? 'FILE' : t.kind === 'port' ? 'N' : t.flag === 'bind' ? 'ADDR' : t.flag === 'data-dir' ? 'DIR' : 'LEVEL'}`;
  return `${left.padEnd(24)}${t.help} [${t.env}]`;
}).join('\n');

export const MAIN_USAGE = `holdfast: an MQTT 3.1.1/5.0 broker and IoT device-access gateway

Usage:
  holdfast start [--config FILE] [--mqtt-port N] [--ws-port N] [--tls-port N]
                 [--http-port N] [--bind ADDR] [--data-dir DIR] [--log-level LEVEL]
                 [--supervise]         restart the broker when it crashes (backoff)
  holdfast restart [--data-dir DIR]    zero-downtime restart of a running holdfast (SIGUSR2)
  holdfast passwd [--username U]       hash a password (read from stdin) for auth.users
  holdfast config check FILE           validate a config file and exit
  holdfast store verify [--data-dir DIR] check a data dir's store (read-only)
  holdfast slo [--url URL] [--json]    error budgets, burn rates and alerts of a running holdfast
  holdfast devices add|list|show|disable|enable|rotate-secret|delete ...
                                       the device registry (admin API; --url, --token)
  holdfast shadow get|set DEVICE ...   device shadows
  holdfast cmd send DEVICE NAME [JSON] [--wait]
                                       send a command; also cmd get ID, cmd list DEVICE
  holdfast bridges status | dead-letters list|replay ...
                                       northbound bridges: sinks, outboxes, dead letters
  holdfast simulate --devices N --rate R
                                       simulated meters: load and demos
  holdfast --help | --version

Run 'holdfast start --help' for the flags and their environment variables, and
'holdfast COMMAND --help' for the others.
Configuration keys: docs/configuration.md. Operations: docs/operations.md. Admin API: docs/api.md.
`;

export const START_USAGE = `Usage: holdfast start [flags]

Starts the broker. Precedence: defaults < config file < environment < flags.
A port of 0 picks a free port; "off" disables a listener.

Flags [environment twin]:
${flagLines}
${'  --supervise'.padEnd(24)}run the broker as a worker, restarted when it crashes
${'  -h, --help'.padEnd(24)}this text

Exit codes: 0 after a graceful stop (SIGTERM/SIGINT), 1 for a bad config or a port
that cannot be used.
`;

export const PASSWD_USAGE = `Usage: holdfast passwd [--username U]

Reads a password from stdin (prompting without echo on a terminal; otherwise the first
line of stdin) and prints an entry for auth.users in the config file:

  - username: U
    passwordHash: scrypt$N$r$p$salt$hash

Without --username only the hash is printed.
`;

export const CONFIG_USAGE = `Usage: holdfast config check FILE

Validates FILE (YAML) against the config schema, reads the TLS files it names, prints
every problem with its key path and exits 1, or prints "ok" and exits 0. Environment
variables are not applied.
`;

export const STORE_USAGE = `Usage: holdfast store verify [--data-dir DIR] [--json]

Checks the store of a data dir (default ./data, or HOLDFAST_DATA_DIR) without changing it:
SQLite integrity, schema version, row counts, and deliveries that refer to missing messages.
Exit code 0 when it is sound, 1 otherwise (each problem on its own line).
`;

export const SLO_USAGE = `Usage: holdfast slo [--url URL | --http-port N] [--json]

Asks a running holdfast (GET URL/api/slo; default http://127.0.0.1:8080, or the port in
HOLDFAST_HTTP_PORT) for its SLOs and prints, for each, the error budget left over its
window, the burn rate over each alert window and the state of each burn-rate alert.

Exit codes: 0 no alert firing, 2 an alert is firing, 1 the server could not be asked.
`;

const API_COMMON = `Common options:
  --url URL      the holdfast HTTP server [HOLDFAST_URL; else http://127.0.0.1:PORT with
                 PORT from HOLDFAST_HTTP_PORT; default http://127.0.0.1:8080]
  --token TOKEN  a bearer token of http.tokens [HOLDFAST_TOKEN]; read tokens may only look
  --json         print JSON instead of text
  -h, --help     this text

Exit codes: 0 done; 1 usage error, or the server could not be reached or failed (5xx);
2 the API refused the request (4xx: its error code is printed, e.g. DEVICE_NOT_FOUND);
3 not authorized (401: no or unknown token; 403: a read token).`;

export const DEVICES_USAGE = `Usage:
  holdfast devices add ID --type TYPE [--label K=V]... [--metadata JSON] [--disabled] [--no-secret]
      register a device and issue its first secret (printed once: the MQTT password;
      the MQTT client id is the device id)
  holdfast devices list [--type TYPE] [--label K=V]... [--enabled | --disabled]
                        [--presence connected|disconnected|reconnecting|never]
                        [--limit N] [--cursor ID | --all]
  holdfast devices show ID              the record, presence and credentials
  holdfast devices disable ID           kicks it if connected and refuses its CONNECTs
  holdfast devices enable ID
  holdfast devices rotate-secret ID [--overlap-s N]
      a new secret (printed once); the older ones keep working N seconds (default: stop now)
  holdfast devices delete ID            with its credentials, shadow and commands

${API_COMMON}
`;

export const BRIDGES_USAGE = `Usage:
  holdfast bridges status
      per sink: state, breaker, outbox depth and oldest age, rates, dead letters; the
      JetStream ingress (exit 0; the same as GET /api/bridges)
  holdfast bridges dead-letters list [--sink NAME] [--limit N] [--cursor ID | --all]
      messages a sink refused for good (or failed maxAttempts times), oldest first
  holdfast bridges dead-letters replay (--sink NAME | --id ID...) [--limit N]
      put them back in their sink's outbox (same idempotency key, attempts reset);
      ingress:NAME letters are published to NATS again

${API_COMMON}
`;

export const SHADOW_USAGE = `Usage:
  holdfast shadow get DEVICE                   desired, reported, delta and version
  holdfast shadow set DEVICE JSON [--version N]
      merge the JSON object into desired (null deletes a key); the device gets the delta.
      With --version, only if the shadow is at that version (else SHADOW_VERSION_MISMATCH, exit 2).

${API_COMMON}
`;

export const CMD_USAGE = `Usage:
  holdfast cmd send DEVICE NAME [JSON] [--wait] [--wait-ms N] [--timeout-ms N] [--max-attempts N]
      queue a command (delivered in order; answered by the device). --wait waits for the
      final state (long-poll, --wait-ms, default 30000).
  holdfast cmd get ID [--wait] [--wait-ms N]   a command's state, result or error
  holdfast cmd list DEVICE [--state S]... [--limit N]

${API_COMMON}
With --wait (or --wait-ms): exit 0 when acked, 4 when it failed or expired, 5 when it was
not final when the wait ended.
`;

export const SIMULATE_USAGE = `Usage: holdfast simulate --devices N [--rate R] [options]

N simulated meters: registered through the admin API (ids PREFIX00001..., type meter,
label simulator=holdfast; secrets kept in the secrets file and reused next time), each
connecting with its own id and secret, reporting telemetry, answering commands on
$holdfast/devices/{id}/commands and applying shadow deltas, reconnecting with exponential
backoff and full jitter. A summary line every --report-s; runs until --duration-s or
SIGINT/SIGTERM, then disconnects every meter and prints the final summary.

  --devices N            how many meters
  --rate R               telemetry messages per second over the whole fleet (default N/60)
  --qos 0|1              telemetry QoS (default 0)
  --topic T              telemetry topic, {deviceId} replaced (default devices/{deviceId}/telemetry)
  --protocol 4|5|mixed   MQTT 3.1.1, 5.0 or half and half (default 5)
  --mqtt-host HOST       default: the host of --url
  --mqtt-port N          default 1883 [HOLDFAST_MQTT_PORT]
  --prefix P             device id prefix (default sim-)
  --type T               device type for new devices (default meter)
  --secrets FILE         where secrets are kept (default ./holdfast-sim-secrets.json, mode 0600)
  --no-provision         use the secrets file only; do not call the API
  --jwt-secret S         connect with HS256 tokens (sub = device id) minted with S instead of
                         secrets (platform.auth.jwt; devices are registered without secrets)
                         [HOLDFAST_SIM_JWT_SECRET]
  --jwt-ttl-s N          token lifetime (default 3600); --jwt-issuer, --jwt-audience: iss, aud
  --connect-rate N       CONNECTs per second at most (default 500)
  --max-connecting N     CONNECTs in flight at most (default 64)
  --keepalive-s N        MQTT keepalive (default 60)
  --clean                clean sessions (default: persistent, session expiry 1 h)
  --backoff-base-ms N    reconnect backoff: first delay scale (default 500)
  --backoff-cap-ms N     reconnect backoff: longest delay (default 30000)
  --concurrency N        API calls in flight while provisioning (default 16)
  --duration-s N         stop after N seconds (default: run until a signal)
  --report-s N           summary every N seconds (default 5)

Commands the meters understand: fail (answers ok: false), ignore (never answers), set
(merges the payload into the reported state), reboot (answers, then drops the connection),
anything else (answers ok: true with an echo of the payload).

${API_COMMON}
`;
