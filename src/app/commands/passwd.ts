/** `holdfast passwd`: hash a password for auth.users. */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { hashPassword } from '../../platform/auth/index.js';
import { PASSWD_USAGE } from './usage.js';
import { usageErrorFrom, type CliIO, type Input, type Output } from './io.js';

/** The first line of a non-interactive stdin (trailing CR/LF removed). */
async function readFirstLine(stdin: Input): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    if ((chunk as Buffer).includes(0x0a)) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const nl = text.indexOf('\n');
  return (nl === -1 ? text : text.slice(0, nl)).replace(/\r$/, '');
}

/** Reads one line from a terminal without echoing it. */
function readHidden(stdin: Input, prompt: string, out: Output): Promise<string> {
  return new Promise((resolve, reject) => {
    out.write(prompt);
    let value = '';
    stdin.setRawMode?.(true);
    stdin.resume();
    const done = (result: Error | string): void => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      out.write('\n');
      if (typeof result === 'string') resolve(result);
      else reject(result);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(value);
        if (ch === '\u0003' || ch === '\u0004') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export async function passwdCommand(args: string[], io: CliIO): Promise<number> {
  let username: string | undefined;
  try {
    const parsed = parseArgs({ args, options: { username: { type: 'string', short: 'u' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (parsed.values.help === true) {
      io.stdout.write(PASSWD_USAGE);
      return 0;
    }
    username = parsed.values.username;
  } catch (err) {
    const usage = usageErrorFrom(err, 'passwd');
    if (usage === undefined) throw err;
    io.stderr.write(`holdfast: ${usage.message}\n`);
    return 1;
  }
  if (username === '') {
    io.stderr.write('holdfast: --username must not be empty\n');
    return 1;
  }

  let password: string;
  try {
    if (io.stdin.isTTY === true) {
      password = await readHidden(io.stdin, 'Password: ', io.stderr);
      const again = await readHidden(io.stdin, 'Again: ', io.stderr);
      if (again !== password) {
        io.stderr.write('holdfast: the passwords do not match\n');
        return 1;
      }
    } else {
      password = await readFirstLine(io.stdin);
    }
  } catch (err) {
    io.stderr.write(`holdfast: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (password === '') {
    io.stderr.write('holdfast: empty password (give it on stdin, e.g. printf %s "$PW" | holdfast passwd)\n');
    return 1;
  }
  const hash = await hashPassword(password);
  io.stdout.write(username === undefined ? `${hash}\n` : stringify([{ username, passwordHash: hash }]));
  return 0;
}
