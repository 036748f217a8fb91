export { ShadowServiceImpl, type ShadowBroker, type ShadowServiceOptions } from './shadow-service.js';
export { computeDelta, jsonEqual, mergePatch } from './shadow-document.js';
export { KeyedSerial } from './keyed-serial.js';
