/**
 * MQTT 3.1 / 3.1.1 / 5.0 codec: a streaming decoder and an encoder over Buffers.
 * No I/O, no dependencies above src/codec.
 */
export * from './packets.js';
export * from './reason-codes.js';
export { MqttDecoder, type DecoderOptions, type PacketHandler, MAX_PROTOCOL_PACKET_SIZE } from './decoder.js';
export { encode } from './encoder.js';
export { CodecError, type CodecErrorCode } from './codec-error.js';
