/**
 * The shape of the transport layer as seen by the app: start every configured listener,
 * report the bound ports, close them. EADDRINUSE surfaces as a HoldfastError with code
 * TRANSPORT_ADDRESS_IN_USE and details { listener, host, port } so the app can name the
 * flag that changes the port.
 */

export type ListenerName = 'mqtt' | 'ws' | 'tls' | 'wss';

export interface TlsFiles {
  /** PEM contents (not paths): the app reads the files. */
  cert: string;
  key: string;
  ca?: string;
  /** Ask for a client certificate; unverified ones are still passed to the auth hook with authorized=false. */
  requestCert?: boolean;
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
}
