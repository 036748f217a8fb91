/**
 * Device type and labels of connected devices, for bridge routes with `deviceType` /
 * `labels` (the engine's DeviceInfo must answer synchronously, on the publish path).
 *
 * The facts are read from the registry when a device authenticates (the authenticate hook
 * is asynchronous: the lookup finishes before CONNACK, so the device's first publish finds
 * them), and only while some route needs them. They are those of the connect: a device
 * whose type or labels change is routed by the new ones after it reconnects. Bounded: at
 * most `maxEntries` devices, least recently connected dropped first.
 */
import type { AuthRequest, AuthResult, Hooks } from '../broker/hooks.js';
import type { DeviceFacts, DeviceInfo } from '../platform/bridges/index.js';
import type { DeviceRegistry } from '../platform/contracts.js';

export class DeviceFactsCache {
  private readonly facts = new Map<string, DeviceFacts>();

  constructor(
    private readonly devices: Pick<DeviceRegistry, 'get'>,
    private readonly needed: () => boolean,
    private readonly maxEntries = 100_000,
  ) {}

  readonly lookup: DeviceInfo = (clientId) => this.facts.get(clientId);

  get size(): number {
    return this.facts.size;
  }

  /** Wraps the broker's authenticate hook (call after the platform installed its own). */
  install(hooks: Hooks): void {
    const inner = hooks.authenticate;
    if (inner === undefined) return;
    hooks.authenticate = (req, signal) => {
      const r = inner(req, signal);
      if (!this.needed()) return r;
      if (r instanceof Promise) return r.then((res) => this.after(req, res));
      return r.ok && r.username === req.client.clientId ? this.after(req, r) : r;
    };
  }

  private async after(req: AuthRequest, res: AuthResult): Promise<AuthResult> {
    // Devices authenticate with their id as the username the broker keeps (device-auth.ts).
    const id = req.client.clientId;
    if (!res.ok || res.username !== id) return res;
    try {
      const d = await this.devices.get(id);
      this.facts.delete(id);
      this.facts.set(id, { type: d.type, labels: { ...d.labels } });
      while (this.facts.size > this.maxEntries) this.facts.delete(this.facts.keys().next().value as string);
    } catch {
      this.facts.delete(id); // not (or no longer) a registered device: routes with conditions do not match it
    }
    return res;
  }
}
