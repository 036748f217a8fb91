/**
 * What a CLI command may touch of the outside world, passed in so that commands can be
 * run in-process by tests with captured output and a fake signal source.
 */
import type { EnvValues } from '../config/index.js';
import type { SignalSource } from '../signals.js';

export interface Output {
  write(text: string): unknown;
}

export interface Input extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface CliIO {
  stdout: Output;
  stderr: Output;
  stdin: Input;
  env: EnvValues;
  signals: SignalSource;
  cwd: string;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, signals: process, cwd: process.cwd() };
}

/** A usage error: one line on stderr, exit code 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Rewrites node:util parseArgs errors as one short line. */
export function usageErrorFrom(err: unknown, command: string): UsageError | undefined {
  const e = err as { code?: string; message?: string };
  if (typeof e.code !== 'string' || !e.code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const see = `(see holdfast ${command === '' ? '' : `${command} `}--help)`;
  const opt = /'(-[^' ]+)/.exec(e.message ?? '')?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${opt ?? ''} ${see}`.replace(/\s+/g, ' '));
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new UsageError(
        /does not take an argument/.test(e.message ?? '') ? `option ${opt ?? ''} takes no value ${see}` : `option ${opt ?? ''} needs a value ${see}`,
      );
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument ${see}: ${(e.message ?? '').split('\n')[0]}`);
    default:
      return new UsageError(`${(e.message ?? 'bad arguments').split('\n')[0]} ${see}`);
  }
}
