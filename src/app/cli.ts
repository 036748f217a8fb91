/**
 * The `holdfast` command line (INTERFACES.md): start, passwd, config check, store, slo, and
 * on the admin API devices, shadow, cmd, simulate, bridges; --help, --version. `main` returns the exit code; bin/holdfast.js exits with it.
 */
import { processIO, type CliIO } from './commands/io.js';
import { MAIN_USAGE } from './commands/usage.js';
import { VERSION } from './version.js';

export { processIO, type CliIO } from './commands/io.js';

type Command = (args: string[], io: CliIO) => Promise<number>;

// Each command is loaded when it runs: `holdfast devices list` does not load the broker,
// SQLite, fastify or the NATS and PostgreSQL clients (a quicker CLI, and quicker tests).
const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./commands/start.js')).startCommand,
  passwd: async () => (await import('./commands/passwd.js')).passwdCommand,
  config: async () => (await import('./commands/config-check.js')).configCommand,
  store: async () => (await import('./commands/store.js')).storeCommand,
  slo: async () => (await import('./commands/slo.js')).sloCommand,
  devices: async () => (await import('./commands/devices.js')).devicesCommand,
  shadow: async () => (await import('./commands/shadow.js')).shadowCommand,
  cmd: async () => (await import('./commands/cmd.js')).cmdCommand,
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand,
  bridges: async () => (await import('./commands/bridges.js')).bridgesCommand,
  restart: async () => (await import('./commands/restart.js')).restartCommand,
};

export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(MAIN_USAGE);
    return 1;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(MAIN_USAGE);
    return 0;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (load === undefined) {
    const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command '${first}'`;
    io.stderr.write(`holdfast: ${what} (see holdfast --help)\n`);
    return 1;
  }
  const command = await load();
  return command([...rest], io);
}
