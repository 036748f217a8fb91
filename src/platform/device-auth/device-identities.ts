/**
 * Which connected clients are devices, and of which type: what the authenticate hook
 * learned, handed to the synchronous ACL and presence hooks.
 *
 * The broker gives the hooks two different ClientInfo objects for one connection: the one
 * passed to `authenticate`, and a copy with the username replaced (the device id) that
 * every later hook sees (authorizePublish/Subscribe, onConnected, onDisconnected). So:
 *
 * 1. a successful device authentication records a *pending* identity under the client id;
 * 2. the first later hook that asks about the connection's ClientInfo (the will check, or
 *    onConnected) takes the pending identity and binds it to that object (WeakMap);
 * 3. from then on the answer is per connection: a takeover by a new connection with the
 *    same id gets its own binding, and nothing needs clearing at disconnect (the binding
 *    goes with the ClientInfo object).
 *
 * A client is bound as a device only if its username is the device id (what the auth hook
 * returns for devices). A non-device authentication drops any pending identity of its client
 * id. Pending identities whose CONNECT never completed (refused after authentication, socket
 * closed) are bounded: beyond `maxPending` the oldest are dropped.
 */
import type { ClientInfo } from '../../broker/hooks.js';

export interface DeviceIdentity {
  readonly deviceId: string;
  /** The registered device's type; undefined for an unregistered JWT subject. */
  readonly type: string | undefined;
  /** A device of the registry (false: a valid JWT for an unregistered id, when allowed). */
  readonly registered: boolean;
  readonly via: 'certificate' | 'jwt' | 'secret';
}

export class DeviceIdentities {
  private readonly pending = new Map<string, DeviceIdentity>();
  private readonly bound = new WeakMap<ClientInfo, DeviceIdentity | null>();
  private readonly maxPending: number;
  /** Pending identities dropped because the table was full. */
  evicted = 0;

  constructor(opts: { maxPending?: number } = {}) {
    this.maxPending = opts.maxPending ?? 100_000;
  }

  /** The auth hook accepted `identity.deviceId` as a device (the client id is the device id). */
  authenticated(identity: DeviceIdentity): void {
    this.pending.delete(identity.deviceId); // re-insert: newest last
    this.pending.set(identity.deviceId, identity);
    while (this.pending.size > this.maxPending) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.evicted++;
    }
  }

  /** The auth hook accepted (or refused) this client id as something other than a device. */
  notDevice(clientId: string): void {
    this.pending.delete(clientId);
  }

  /** The device identity of a connection (binding it on first use), or undefined for non-devices. */
  identityOf(client: ClientInfo): DeviceIdentity | undefined {
    const known = this.bound.get(client);
    if (known !== undefined) return known ?? undefined;
    const p = this.pending.get(client.clientId);
    let identity: DeviceIdentity | null = null;
    if (p !== undefined && client.username === p.deviceId) {
      identity = p;
      this.pending.delete(client.clientId);
    }
    this.bound.set(client, identity);
    return identity ?? undefined;
  }

  /** An onConnected observer: binds the identity at CONNACK (wire it before the presence hook). */
  readonly onConnected = (client: ClientInfo): void => {
    this.identityOf(client);
  };

  get pendingCount(): number {
    return this.pending.size;
  }
}
