/**
 * The shape of the transport layer as seen by the app: start every configured listener,
 * report the bound ports, close them. EADDRINUSE surfaces as a HoldfastError with code
 * TRANSPORT_ADDRESS_IN_USE and details { listener, host, port } so the app can name the
 * flag that changes the port.
 */
import type { Server as NetServer, Socket } from 'node:net';

export type ListenerName = 'mqtt' | 'ws' | 'tls' | 'wss';

export interface TlsFiles {
  /** PEM contents (not paths): the app reads the files. */
  cert: string;
  key: string;
  ca?: string;
  /** Ask for a client certificate; unverified ones are still passed to the auth hook with authorized=false. */
  requestCert?: boolean;
}

/**
 * A listening socket taken over from the process before (zero-downtime restart, issue 8):
 * the listener takes its connections instead of binding the port itself.
 */
export interface InheritedListener {
  readonly port: number;
  /** The socket itself, to pass on at the next restart. */
  readonly server: NetServer;
  /** Hands every accepted connection to `onSocket`, first those that queued up before. */
  accept(onSocket: (socket: Socket) => void): void;
  /** Stops accepting (closes this process's copy of the socket). */
  close(): Promise<void>;
}

export interface ListenersConfig {
  bind: string;
  /** null disables the listener; 0 = ephemeral port. */
  mqttPort: number | null;
  wsPort: number | null;
  wsPath: string;
  tls: ({ port: number } & TlsFiles) | null;
  /** Accept queue length for listen(2); the kernel caps it at net.core.somaxconn. */
  backlog: number;
  /** Loopback connections run through a throwaway broker before listening (see warmup.ts); 0 = none. */
  warmupConnections?: number;
  /** Listening sockets inherited from the previous process: used instead of binding these ports. */
  inherited?: Partial<Record<'mqtt' | 'ws' | 'tls', InheritedListener>>;
}

export interface BoundAddresses {
  mqtt?: number;
  ws?: number;
  tls?: number;
}

export interface Listeners {
  readonly addresses: BoundAddresses;
  /** Stop accepting; existing connections are left to the broker's shutdown. */
  close(): Promise<void>;
  /** The listening servers, to pass to a new process at a zero-downtime restart (issue 8). */
  servers?(): Partial<Record<'mqtt' | 'ws' | 'tls', NetServer>>;
  /**
   * Hot reload: new TLS handshakes use these certificate / key / CA; connections already up
   * keep theirs. Throws when the PEMs do not make a valid context (nothing changes then).
   * False when no TLS listener is open.
   */
  updateTls?(files: TlsFiles): boolean;
}
