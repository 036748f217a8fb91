/** Help texts. The flags of `start` come from the one table of flags and env twins. */
import { TWINS } from '../config/index.js';

const flagLines = TWINS.map((t) => {
  const left = `  --${t.flag} ${t.flag === 'config' ? 'FILE' : t.kind === 'port' ? 'N' : t.flag === 'bind' ? 'ADDR' : t.flag === 'data-dir' ? 'DIR' : 'LEVEL'}`;
  return `${left.padEnd(24)}${t.help} [${t.env}]`;
}).join('\n');

export const MAIN_USAGE = `holdfast: an MQTT 3.1.1/5.0 broker and IoT device-access gateway

Usage:
  holdfast start [--config FILE] [--mqtt-port N] [--ws-port N] [--tls-port N]
                 [--http-port N] [--bind ADDR] [--data-dir DIR] [--log-level LEVEL]
  holdfast passwd [--username U]       hash a password (read from stdin) for auth.users
  holdfast config check FILE           validate a config file and exit
  holdfast store verify [--data-dir DIR] check a data dir's store (read-only)
  holdfast slo [--url URL] [--json]    error budgets, burn rates and alerts of a running holdfast
  holdfast --help | --version

Run 'holdfast start --help' for the flags and their environment variables.
Configuration keys: docs/configuration.md. Operations: docs/operations.md.
`;

export const START_USAGE = `Usage: holdfast start [flags]

Starts the broker. Precedence: defaults < config file < environment < flags.
A port of 0 picks a free port; "off" disables a listener.

Flags [environment twin]:
${flagLines}
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
