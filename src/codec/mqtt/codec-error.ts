/**
 * Errors of the MQTT codec. Every decode failure is a CodecError carrying the MQTT 5
 * reason code the connection should be closed with (MQTT5 4.13): the message is written
 * for humans and is sent as the DISCONNECT Reason String, so it says what was wrong and
 * cites the spec rule.
 */
import { HoldfastError } from '../../errors/index.js';
import { PACKET_TYPE_NAMES } from './packets.js';
import { RC } from './reason-codes.js';

export type CodecErrorCode =
  | 'CODEC_MALFORMED_PACKET'
  | 'CODEC_PROTOCOL_ERROR'
  | 'CODEC_PACKET_TOO_LARGE'
  | 'CODEC_UNSUPPORTED_PROTOCOL_VERSION'
  /** encode(): a string or binary field longer than 65,535 bytes (MQTT-1.5.4-1, 1.5.6). */
  | 'CODEC_ENCODE_STRING_TOO_LONG'
  /** encode(): a packet whose remaining length would exceed 268,435,455 (MQTT 2.1.4). */
  | 'CODEC_ENCODE_PACKET_TOO_LARGE'
  /** encode(): a value that cannot be represented (missing packet id, integer out of range...). */
  | 'CODEC_ENCODE_INVALID_VALUE';

export class CodecError extends HoldfastError {
  declare readonly code: CodecErrorCode;

  constructor(
    code: CodecErrorCode,
    message: string,
    reasonCode: number,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details === undefined ? { reasonCode } : { reasonCode, details });
    this.name = 'CodecError';
  }
}

function prefix(packetType: number): string {
  return packetType > 0 ? `${PACKET_TYPE_NAMES[packetType] ?? 'packet'}: ` : '';
}

function detailsFor(packetType: number): Record<string, unknown> | undefined {
  return packetType > 0 ? { packetType } : undefined;
}

/** Malformed Packet (0x81). `packetType` 0 when not known yet. */
export function malformed(packetType: number, message: string): CodecError {
  return new CodecError('CODEC_MALFORMED_PACKET', prefix(packetType) + message, RC.MALFORMED_PACKET, detailsFor(packetType));
}

/** Protocol Error (0x82). */
export function protocolError(packetType: number, message: string): CodecError {
  return new CodecError('CODEC_PROTOCOL_ERROR', prefix(packetType) + message, RC.PROTOCOL_ERROR, detailsFor(packetType));
}

/** Packet too large (0x95), MQTT5 3.1.2.11.4. */
export function packetTooLarge(packetType: number, size: number, max: number): CodecError {
  return new CodecError(
    'CODEC_PACKET_TOO_LARGE',
    `${prefix(packetType)}packet of ${size} bytes exceeds the maximum packet size of ${max} bytes (MQTT5 3.1.2.11.4)`,
    RC.PACKET_TOO_LARGE,
    { packetType, size, maxPacketSize: max },
  );
}

/** Encoding failures: the packet handed to encode() cannot be put on the wire. */
export function encodeError(
  code: 'CODEC_ENCODE_STRING_TOO_LONG' | 'CODEC_ENCODE_PACKET_TOO_LARGE' | 'CODEC_ENCODE_INVALID_VALUE',
  packetType: number,
  message: string,
): CodecError {
  return new CodecError(code, prefix(packetType) + message, RC.IMPLEMENTATION_SPECIFIC_ERROR, detailsFor(packetType));
}
