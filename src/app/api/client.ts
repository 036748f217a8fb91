/**
 * A small client of the admin API (fetch, keep-alive through Node's global dispatcher), for
 * the CLI commands and the simulator. Failures are ApiCallError: `status` undefined when
 * the server could not be reached or did not answer in time.
 */
import type { DeviceView, IssuedSecret, ShadowDocument } from '../../platform/contracts.js';
import type { CommandRecord, CredentialRecord, DevicePage, DeviceRecord } from '../../ports/platform-store.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export class ApiCallError extends Error {
  constructor(
    message: string,
    /** HTTP status; undefined = no answer (connection refused, timeout). */
    readonly status: number | undefined,
    /** The API's stable code (INVALID_INPUT, DEVICE_NOT_FOUND...), or UNREACHABLE / BAD_RESPONSE. */
    readonly code: string,
    readonly details?: { path: string; problem: string }[],
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
  /** Per request, on top of any server-side wait (default 15 000 ms). */
  timeoutMs?: number;
}

export type CredentialView = Omit<CredentialRecord, 'secretHash'>;
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

const seg = encodeURIComponent;

export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  async request<T>(method: string, path: string, body?: unknown, extraTimeoutMs = 0): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined && this.token !== '') headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs + extraTimeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs + extraTimeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new ApiCallError(`cannot reach ${this.baseUrl}: ${why}`, undefined, 'UNREACHABLE');
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ApiCallError(`${method} ${path}: HTTP ${res.status} with a body that is not JSON`, res.status, 'BAD_RESPONSE');
    }
    if (!res.ok) {
      const b = (parsed ?? {}) as { error?: string; message?: string; details?: { path: string; problem: string }[] };
      throw new ApiCallError(b.message ?? `HTTP ${res.status}`, res.status, (b.error ?? `HTTP_${res.status}`).toUpperCase(), b.details);
    }
    return parsed as T;
  }

  createDevice(d: { id: string; type: string; labels?: Record<string, string>; metadata?: Record<string, unknown>; enabled?: boolean }): Promise<DeviceRecord> {
    return this.request('POST', '/api/devices', d);
  }

  listDevices(q: { type?: string; labels?: Record<string, string>; enabled?: boolean; presence?: string; cursor?: string; limit?: number }): Promise<DevicePage> {
    const p = new URLSearchParams();
    if (q.type !== undefined) p.set('type', q.type);
    for (const [k, v] of Object.entries(q.labels ?? {})) p.append('label', `${k}:${v}`);
    if (q.enabled !== undefined) p.set('enabled', String(q.enabled));
    if (q.presence !== undefined) p.set('presence', q.presence);
    if (q.cursor !== undefined) p.set('cursor', q.cursor);
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    const qs = p.toString();
    return this.request('GET', `/api/devices${qs === '' ? '' : `?${qs}`}`);
  }

  getDevice(id: string): Promise<DeviceView> {
    return this.request('GET', `/api/devices/${seg(id)}`);
  }

  setEnabled(id: string, enabled: boolean): Promise<DeviceRecord> {
    return this.request('POST', `/api/devices/${seg(id)}/${enabled ? 'enable' : 'disable'}`);
  }

  deleteDevice(id: string): Promise<void> {
    return this.request('DELETE', `/api/devices/${seg(id)}`);
  }

  issueSecret(id: string, overlapS?: number): Promise<Omit<IssuedSecret, 'credential'> & { credential: CredentialView }> {
    return this.request('POST', `/api/devices/${seg(id)}/secrets`, overlapS === undefined ? {} : { overlapS });
  }

  credentials(id: string): Promise<Page<CredentialView>> {
    return this.request('GET', `/api/devices/${seg(id)}/credentials`);
  }

  getShadow(id: string): Promise<ShadowDocument> {
    return this.request('GET', `/api/devices/${seg(id)}/shadow`);
  }

  updateDesired(id: string, desired: Record<string, unknown>, version?: number): Promise<ShadowDocument> {
    return this.request('PATCH', `/api/devices/${seg(id)}/shadow/desired`, version === undefined ? { desired } : { desired, version });
  }

  /** With waitMs, the answer comes when the command is final or waitMs has passed. */
  sendCommand(id: string, cmd: { name: string; payload?: unknown; timeoutMs?: number; maxAttempts?: number }, waitMs?: number): Promise<CommandRecord> {
    return this.request('POST', `/api/devices/${seg(id)}/commands${waitMs === undefined ? '' : `?waitMs=${waitMs}`}`, cmd, waitMs ?? 0);
  }

  getCommand(id: string, waitMs?: number): Promise<CommandRecord> {
    return this.request('GET', `/api/commands/${seg(id)}${waitMs === undefined ? '' : `?waitMs=${waitMs}`}`, undefined, waitMs ?? 0);
  }
}
