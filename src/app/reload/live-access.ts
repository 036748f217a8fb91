/**
 * The static users and ACL of the config (auth.users, acl.rules) as hooks whose rules can
 * be replaced while the broker runs (hot reload). The hooks installed on the broker (and
 * handed to the device platform as its fallback) are stable functions that call whatever
 * was built last, so a reload changes the answer for the very next CONNECT, PUBLISH or
 * SUBSCRIBE of every connection, live ones included, and no connection is dropped.
 *
 * Installed on the broker's own hooks object (installOn), a hook is present only while it
 * checks something, so that the broker keeps its fast paths (no ACL call per publish
 * without publish rules, no authentication step without users). Once the device platform
 * takes the hook slots over (release), it calls the stable functions as its fallback.
 */
import type { AuthRequest, AuthResult, ClientInfo, Hooks } from '../../broker/hooks.js';
import type { AclRule, UserEntry } from '../../broker/config.js';
import type { QoS } from '../../codec/mqtt/packets.js';
import { createStaticAcl, type AclHooks } from '../../platform/acl/index.js';
import { createStaticAuth } from '../../platform/auth/index.js';

export interface StaticAccessConfig {
  acl: { rules: readonly AclRule[] };
  auth: { users: readonly UserEntry[]; allowAnonymous: boolean | undefined };
}

const OK: AuthResult = { ok: true };

export class LiveStaticAccess {
  private acl: AclHooks = {};
  private auth: Hooks['authenticate'];
  private target: Hooks | undefined;

  constructor(config: StaticAccessConfig) {
    this.update(config);
  }

  /**
   * Builds the new checks, then swaps them in at once. Throws (and changes nothing) when a
   * rule or user cannot be compiled; the schema has checked both already.
   */
  update(config: StaticAccessConfig): void {
    const acl = createStaticAcl(config.acl.rules);
    const auth = createStaticAuth({ users: config.auth.users, allowAnonymous: config.auth.allowAnonymous });
    this.acl = acl;
    this.auth = auth;
    this.sync();
  }

  /** Puts the hooks on `hooks` (the broker's), each only while it has something to check. */
  installOn(hooks: Hooks): Hooks {
    this.target = hooks;
    this.sync();
    return hooks;
  }

  /** Another layer (the device platform) owns the broker's hook slots from now on: leave them alone. */
  release(): void {
    this.target = undefined;
  }

  private sync(): void {
    const t = this.target;
    if (t === undefined) return;
    if (this.auth !== undefined) t.authenticate = this.authenticate;
    else delete t.authenticate;
    if (this.acl.authorizePublish !== undefined) t.authorizePublish = this.authorizePublish;
    else delete t.authorizePublish;
    if (this.acl.authorizeSubscribe !== undefined) t.authorizeSubscribe = this.authorizeSubscribe;
    else delete t.authorizeSubscribe;
  }

  /** Whether a static user check is configured now (undefined from createStaticAuth = everyone). */
  get authenticates(): boolean {
    return this.auth !== undefined;
  }

  /** Stable hook functions: install them once. */
  readonly authorizePublish = (client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean => {
    const check = this.acl.authorizePublish;
    return check === undefined ? true : check(client, topic, qos, retain);
  };

  readonly authorizeSubscribe = (client: ClientInfo, filter: string, qos: QoS): boolean => {
    const check = this.acl.authorizeSubscribe;
    return check === undefined ? true : check(client, filter, qos);
  };

  readonly authenticate = (req: AuthRequest, signal: AbortSignal): Promise<AuthResult> | AuthResult => {
    const check = this.auth;
    return check === undefined ? OK : check(req, signal);
  };

  /** The hooks for the broker (or the platform's fallback). */
  hooks(): Required<Pick<Hooks, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>> {
    return { authenticate: this.authenticate, authorizePublish: this.authorizePublish, authorizeSubscribe: this.authorizeSubscribe };
  }
}
