/**
 * The closed, typed list of hook points through which the platform (auth, ACL, device
 * registry, presence...) plugs into the broker. The broker never imports the platform;
 * the app composes hook implementations and hands them to the broker.
 *
 * Hooks on the hot path (authorizePublish) are synchronous on purpose: a publish must not
 * wait for a promise per message. Hooks that may call out (authenticate, enhanced auth)
 * are asynchronous, receive an AbortSignal carrying their deadline and must honour it.
 */
import type { Properties, ProtocolVersion, QoS } from '../codec/mqtt/packets.js';

/** What the broker knows about a connected (or connecting) client. */
export interface ClientInfo {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly protocolVersion: ProtocolVersion;
  /** Remote address and port, e.g. "10.0.0.7:53122". */
  readonly remoteAddress: string;
  /** 'mqtt' | 'tls' | 'ws' | 'wss' */
  readonly listener: string;
  /** TLS client certificate, when one was presented and verified by the TLS layer. */
  readonly certificate: PeerCertificateInfo | undefined;
}

export interface PeerCertificateInfo {
  subjectCN: string | undefined;
  /** SHA-256 fingerprint, colon-separated hex, as Node prints it. */
  fingerprint256: string;
  /** True when the TLS layer verified it against the configured CA. */
  authorized: boolean;
}

export interface AuthRequest {
  readonly client: ClientInfo;
  readonly password: Buffer | undefined;
  readonly connectProperties: Properties | undefined;
}

export type AuthResult =
  | { ok: true; /** Replaces the username for ACL purposes (e.g. a device id). */ username?: string }
  | { ok: false; /** MQTT5 CONNACK reason code: 0x86, 0x87, 0x88, 0x8A... */ reasonCode: number; reason?: string };

/** One step of MQTT 5 enhanced authentication (MQTT5 4.12). */
export interface EnhancedAuthStep {
  readonly client: ClientInfo;
  readonly method: string;
  readonly data: Buffer | undefined;
  /** 0 for the step carried by CONNECT, then 1, 2... for AUTH packets (and re-authentication). */
  readonly step: number;
}

export type EnhancedAuthResult =
  | { status: 'success'; data?: Buffer; username?: string }
  | { status: 'continue'; data?: Buffer }
  | { status: 'fail'; reasonCode: number; reason?: string };

export type DisconnectCause =
  | 'client-disconnect'
  | 'client-disconnect-with-will'
  | 'socket-closed'
  | 'socket-error'
  | 'keepalive-timeout'
  | 'protocol-error'
  | 'taken-over'
  | 'slow-consumer'
  | 'server-shutdown'
  | 'administrative'
  | 'auth-failed'
  | 'admission-refused'
  | 'rate-limited';

export interface Hooks {
  /**
   * Called for every CONNECT after the cheap checks. The signal aborts at the connect
   * deadline. A synchronous answer (no promise) is taken at once, without arming a
   * deadline (the fast path for brokers that check nothing expensive). Absent = everyone
   * is allowed.
   */
  authenticate?(req: AuthRequest, signal: AbortSignal): Promise<AuthResult> | AuthResult;
  /**
   * Enhanced authentication (MQTT5 4.12). Called when CONNECT carries an Authentication
   * Method. A method the hook does not support must return fail with 0x8C. Absent =
   * every method is refused with 0x8C (Bad authentication method).
   */
  enhancedAuth?(step: EnhancedAuthStep, signal: AbortSignal): Promise<EnhancedAuthResult>;
  /** Synchronous per-message check. false = denied (MQTT5 PUBACK/PUBREC 0x87). */
  authorizePublish?(client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean;
  /**
   * Synchronous gate after the ACL, before a publish is routed (e.g. a bridge whose outbox is
   * full refuses new QoS 1/2 messages for its routes). A refusal: v5 PUBACK/PUBREC with its
   * code and reason; 3.1.1 QoS 1/2 gets the connection closed (it cannot be told, and must
   * not believe the message was taken); QoS 0 is dropped (counted).
   */
  admitPublish?(client: ClientInfo, topic: string, qos: QoS, retain: boolean): { reasonCode: number; reason: string } | undefined;
  /** Synchronous per-filter check at SUBSCRIBE. false = denied (SUBACK 0x87 / 0x80). */
  authorizeSubscribe?(client: ClientInfo, filter: string, qos: QoS): boolean;
  /** Observers: must not throw and must not block; errors are logged and swallowed. */
  onConnected?(client: ClientInfo, sessionPresent: boolean): void;
  onDisconnected?(client: ClientInfo, cause: DisconnectCause, reasonCode: number): void;
  /** After a SUBACK: the filters that were granted (e.g. the platform pushes a shadow delta once a device listens). */
  onSubscribed?(client: ClientInfo, filters: readonly string[]): void;
  onMessagePublished?(client: ClientInfo | undefined, topic: string, qos: QoS, payloadBytes: number): void;
}
