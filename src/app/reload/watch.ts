/**
 * Watches the config file for changes (hot reload on a file change, issue 8).
 *
 * The directory is watched, not the file: editors that save by writing a new file and
 * renaming it over the old one (vim, many IDEs), `mv`, and Kubernetes ConfigMap updates
 * (an atomic swap of the `..data` symlink) replace the file's inode, which a watch on the
 * file itself would stop seeing. Events are debounced (`debounceMs` of quiet), then the
 * file is read and `onChange` runs only when its contents differ from the last seen, so
 * touching the file or unrelated files in the directory costs nothing. An empty or missing
 * file is taken for a write still in progress and ignored until the next event.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../../observability/logger.js';

export interface ConfigWatchOptions {
  file: string;
  debounceMs: number;
  onChange: () => void;
  logger: Logger;
}

export interface ConfigWatch {
  close(): void;
}

const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function readNow(path: string): string | undefined {
  try {
    return digest(readFileSync(path));
  } catch {
    return undefined;
  }
}

export function watchConfigFile(o: ConfigWatchOptions): ConfigWatch {
  const path = resolve(o.file);
  const dir = dirname(path);
  const name = basename(path);
  let last = readNow(path);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const check = async (): Promise<void> => {
    timer = undefined;
    let content: Buffer;
    try {
      content = await readFile(path);
    } catch (err) {
      o.logger.debug({ err, file: path }, 'config file not readable (being replaced?): waiting for the next change');
      return;
    }
    if (closed) return;
    if (content.length === 0) {
      o.logger.debug({ file: path }, 'config file is empty (a write in progress?): waiting for the next change');
      return;
    }
    const d = digest(content);
    if (d === last) return;
    last = d;
    o.onChange();
  };

  let watcher: FSWatcher;
  try {
    watcher = watch(dir, { persistent: false }, (_event, changed) => {
      // Other files in the directory are ignored, but for Kubernetes' ..data swaps (and an unknown name).
      if (closed || (changed !== null && changed !== name && !changed.startsWith('..'))) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => void check(), o.debounceMs);
      timer.unref();
    });
  } catch (err) {
    o.logger.warn({ err, file: path }, 'cannot watch the config file: reload with SIGHUP or POST /api/config/reload');
    return { close() {} };
  }
  watcher.on('error', (err) => o.logger.warn({ err, file: path }, 'watching the config file failed: reload with SIGHUP or POST /api/config/reload'));
  o.logger.debug({ file: path, debounceMs: o.debounceMs }, 'watching the config file');
  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher.close();
    },
  };
}
