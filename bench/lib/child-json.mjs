/**
 * Runs a child process whose last line of stdout is its result as JSON (the observability
 * harness and its runs). Resolves with the parsed result, or with an error naming the exit
 * code and the end of stderr; never rejects.
 */
import { spawn } from 'node:child_process';

export function runJsonChild(command, args, { env = process.env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve({ result: JSON.parse(line) });
      else resolve({ error: `exit ${code}: ${err.trim().split('\n').slice(-3).join(' ')}` });
    });
  });
}
