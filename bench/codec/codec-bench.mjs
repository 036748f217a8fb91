#!/usr/bin/env node
/**
 * Codec micro-benchmark: holdfast's MQTT codec vs mqtt-packet (parser + generate).
 * Not part of npm test. Build first, then run:
 *
 *   npx tsc -p tsconfig.build.json && node bench/codec/codec-bench.mjs
 *
 * Env: BENCH_MS (time per case, default 1000), BENCH_ROUNDS (best of N, default 3).
 * Prints a markdown table (ops/s = packets decoded or encoded per second).
 */
import mqttPacket from 'mqtt-packet';
import { MqttDecoder, encode } from '../../dist/codec/mqtt/index.js';

const MS = Number(process.env.BENCH_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHUNK = 64 * 1024;
const TOPIC = 'devices/dev-00042/telemetry';
const PAYLOAD = Buffer.alloc(64, 0x61);

/** ops/s of fn (which returns the ops it did) over one timed round of MS milliseconds. */
function round(fn) {
  let ops = 0;
  const start = performance.now();
  const end = start + MS;
  let now = start;
  while (now < end) {
    ops += fn();
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

/**
 * Best of ROUNDS for each side, the rounds of the two sides interleaved so that a noisy
 * neighbour on the machine hurts both alike.
 */
function compare(ours, theirs) {
  for (const fn of [ours, theirs]) {
    const warmEnd = performance.now() + Math.min(300, MS / 2);
    while (performance.now() < warmEnd) fn();
  }
  let a = 0;
  let b = 0;
  for (let r = 0; r < ROUNDS; r++) {
    a = Math.max(a, round(ours));
    b = Math.max(b, round(theirs));
  }
  return { ours: a, theirs: b };
}

function ourPublish(qos, version) {
  return {
    type: 3, topic: TOPIC, payload: PAYLOAD, qos, retain: false, dup: false,
    packetId: qos > 0 ? 4242 : undefined, properties: version === 5 ? {} : undefined,
  };
}
function theirPublish(qos) {
  return { cmd: 'publish', topic: TOPIC, payload: PAYLOAD, qos, retain: false, dup: false, messageId: qos > 0 ? 4242 : undefined };
}

/** A stream of `count` identical packets cut into 64 KiB chunks (packets straddle chunk boundaries). */
function chunkedStream(packet, count) {
  const all = Buffer.concat(Array.from({ length: count }, () => packet));
  const chunks = [];
  for (let i = 0; i < all.length; i += CHUNK) chunks.push(Buffer.from(all.subarray(i, i + CHUNK)));
  return chunks;
}

function decodeCase(qos, version) {
  const bytes = encode(ourPublish(qos, version), version);
  const count = 20_000;
  const chunks = chunkedStream(bytes, count);
  let seen = 0;
  const onPacket = () => { seen++; };
  const { ours, theirs } = compare(
    () => {
      const d = new MqttDecoder({ protocolVersion: version });
      for (const c of chunks) d.push(c, onPacket);
      return count;
    },
    () => {
      const parser = mqttPacket.parser({ protocolVersion: version });
      parser.on('packet', onPacket);
      for (const c of chunks) parser.parse(c);
      return count;
    },
  );
  if (seen === 0) throw new Error('nothing decoded');
  return { name: `decode PUBLISH QoS ${qos}, 64 B payload, v${version} (64 KiB chunks)`, ours, theirs };
}

function encodeCase(name, version, ourPacket, theirPacket) {
  const opts = { protocolVersion: version };
  // Same bytes from both, or the comparison is meaningless.
  const a = encode(ourPacket, version);
  const b = mqttPacket.generate(theirPacket, opts);
  if (!a.equals(b)) throw new Error(`${name}: encodings differ\n${a.toString('hex')}\n${b.toString('hex')}`);
  const N = 1000;
  let sink = 0;
  const { ours, theirs } = compare(
    () => {
      for (let i = 0; i < N; i++) sink += encode(ourPacket, version).length;
      return N;
    },
    () => {
      for (let i = 0; i < N; i++) sink += mqttPacket.generate(theirPacket, opts).length;
      return N;
    },
  );
  if (sink === 0) throw new Error('nothing encoded');
  return { name: `${name}, v${version}`, ours, theirs };
}

const results = [];
for (const version of [4, 5]) {
  results.push(decodeCase(0, version));
  results.push(decodeCase(1, version));
  results.push(encodeCase('encode PUBLISH QoS 0, 64 B payload', version, ourPublish(0, version), theirPublish(0)));
  results.push(encodeCase('encode PUBLISH QoS 1, 64 B payload', version, ourPublish(1, version), theirPublish(1)));
  const ourAck = { type: 4, packetId: 4242, reasonCode: 0, properties: version === 5 ? {} : undefined };
  const theirAck = { cmd: 'puback', messageId: 4242, reasonCode: 0 };
  results.push(encodeCase('encode PUBACK', version, ourAck, theirAck));
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(`node ${process.version}, ${new Date().toISOString()}, BENCH_MS=${MS}, best of ${ROUNDS} interleaved rounds`);
console.log(`load average at the end: ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('');
console.log('| case | holdfast ops/s | mqtt-packet ops/s | ratio |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of results) console.log(`| ${r.name} | ${fmt(r.ours)} | ${fmt(r.theirs)} | ${(r.ours / r.theirs).toFixed(1)}x |`);
