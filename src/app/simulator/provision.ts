/**
 * The simulator's devices in the registry, through the admin API: devices that do not
 * exist are created (label `simulator=holdfast`) and get a secret; devices that exist and
 * whose secret is in the secrets file are reused as they are; devices that exist without a
 * known secret get a new one (which revokes their older secrets). Secrets are kept in a
 * JSON file (mode 0600) so that the next run reuses them without touching the registry.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { ApiCallError, type ApiClient } from '../api/client.js';

export const SIM_LABEL = { simulator: 'holdfast' } as const;

export interface SecretsFile {
  version: 1;
  secrets: Record<string, string>;
}

export async function readSecrets(path: string): Promise<SecretsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, secrets: {} };
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<SecretsFile>;
  if (parsed.version !== 1 || typeof parsed.secrets !== 'object' || parsed.secrets === null) throw new Error(`${path} is not a simulator secrets file`);
  return { version: 1, secrets: parsed.secrets };
}

export async function writeSecrets(path: string, file: SecretsFile): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(file)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export function simDeviceIds(prefix: string, n: number): string[] {
  const width = Math.max(5, String(n).length);
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
}

export interface ProvisionResult {
  /** `secret` is absent with `noSecrets`. */
  devices: { id: string; secret?: string }[];
  created: number;
  reused: number;
  rotated: number;
}

export interface ProvisionOptions {
  ids: string[];
  type: string;
  secretsPath: string;
  /** API calls in flight at once. */
  concurrency: number;
  /** Register the devices only, issue no secrets (devices that authenticate with JWTs). */
  noSecrets?: boolean;
  progress?: (done: number, total: number) => void;
}

export async function provision(api: ApiClient, o: ProvisionOptions): Promise<ProvisionResult> {
  const file = await readSecrets(o.secretsPath);
  const existing = await existingSimDevices(api);
  let created = 0;
  let reused = 0;
  let rotated = 0;
  let done = 0;
  let dirty = 0;
  const one = async (id: string): Promise<void> => {
    const known = file.secrets[id];
    if (o.noSecrets === true) {
      if (existing.has(id)) reused++;
      else {
        await api.createDevice({ id, type: o.type, labels: { ...SIM_LABEL } }).then(
          () => created++,
          (err: unknown) => {
            if (!(err instanceof ApiCallError && err.code === 'DEVICE_EXISTS')) throw err;
            reused++;
          },
        );
      }
    } else if (existing.has(id) && known !== undefined) reused++;
    else {
      if (!existing.has(id)) {
        try {
          await api.createDevice({ id, type: o.type, labels: { ...SIM_LABEL } });
          created++;
        } catch (err) {
          // Created by someone else in between (or without our label): take it over.
          if (!(err instanceof ApiCallError && err.code === 'DEVICE_EXISTS')) throw err;
          rotated++;
        }
      } else rotated++;
      file.secrets[id] = (await api.issueSecret(id)).secret;
      dirty++;
    }
    done++;
    if (done % 500 === 0) {
      o.progress?.(done, o.ids.length);
      if (dirty > 0) {
        dirty = 0;
        await writeSecrets(o.secretsPath, file);
      }
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.ids.length) await one(o.ids[next++]!);
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, o.ids.length)) }, worker));
  } finally {
    // Whatever was issued is saved, even when a later call failed.
    if (o.noSecrets !== true) await writeSecrets(o.secretsPath, file);
  }
  o.progress?.(o.ids.length, o.ids.length);
  const devices = o.ids.map((id) => (o.noSecrets === true ? { id } : { id, secret: file.secrets[id]! }));
  return { devices, created, reused, rotated };
}

/** Ids of the devices with the simulator's label (pages of 1000). */
async function existingSimDevices(api: ApiClient): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await api.listDevices({ labels: { ...SIM_LABEL }, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    for (const d of page.items) ids.add(d.id);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return ids;
}
