export { HttpSink, createHttpSink, type HttpSinkConfigLike, type HttpSinkContext, type HttpSinkOptions } from './http-sink.js';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhookBody, verifyWebhookSignature } from './http-signature.js';
export { batchBody, contentTypeOf, jsonTextOf } from './http-body.js';
