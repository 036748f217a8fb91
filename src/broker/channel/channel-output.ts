/**
 * The channel's only way out. The transport implements it over a socket; protocol tests
 * implement it with an array and assert on the packets. The channel encodes (it must know
 * the size to honour the client's Maximum Packet Size); the output only moves bytes.
 */
import type { Packet } from '../../codec/mqtt/packets.js';
import type { PeerCertificateInfo } from '../hooks.js';
import type { SinkPressure } from '../session/session-sink.js';

export interface ChannelOutput {
  readonly remoteAddress: string;
  /** 'mqtt' | 'tls' | 'ws' | 'wss' */
  readonly listener: string;
  readonly certificate: PeerCertificateInfo | undefined;
  /** Queue an encoded packet for sending. `packet` is given for tests and tracing. */
  send(packet: Packet, bytes: Buffer): void;
  /** Flush what was sent, then close the connection. Idempotent. */
  end(): void;
  /** Outbound buffer state (see SinkPressure). */
  pressure(): SinkPressure;
  /** The channel can take packets again (after authentication or backpressure). */
  resumeInput(): void;
}
