/**
 * The `holdfast` command line (INTERFACES.md): start, passwd, config check, store, slo, and
 * on the admin API devices, shadow, cmd, simulate, bridges; --help, --version. `main` returns the exit code; bin/holdfast.js exits with it.
 */
import { storeCommand } from './commands/store.js';
import { bridgesCommand } from './commands/bridges.js';
import { cmdCommand } from './commands/cmd.js';
import { configCommand } from './commands/config-check.js';
import { devicesCommand } from './commands/devices.js';
import { processIO, type CliIO } from './commands/io.js';
import { passwdCommand } from './commands/passwd.js';
import { shadowCommand } from './commands/shadow.js';
import { simulateCommand } from './commands/simulate.js';
import { sloCommand } from './commands/slo.js';
import { startCommand } from './commands/start.js';
import { restartCommand } from './commands/restart.js';
import { MAIN_USAGE } from './commands/usage.js';
import { VERSION } from './version.js';

export { processIO, type CliIO } from './commands/io.js';

const COMMANDS: Record<string, (args: string[], io: CliIO) => Promise<number>> = {
  start: startCommand,
  passwd: passwdCommand,
  config: configCommand,
  store: storeCommand,
  slo: sloCommand,
  devices: devicesCommand,
  shadow: shadowCommand,
  cmd: cmdCommand,
  simulate: simulateCommand,
  bridges: bridgesCommand,
  restart: restartCommand,
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
  const command = COMMANDS[first];
  if (command === undefined) {
    const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command '${first}'`;
    io.stderr.write(`holdfast: ${what} (see holdfast --help)\n`);
    return 1;
  }
  return command([...rest], io);
}
