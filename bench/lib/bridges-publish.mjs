#!/usr/bin/env node
// The publishers of the bridge scenarios, in their own (pinned) process:
// `node bridges-publish.mjs PORT PUBLISHERS DURATION_S RATE WINDOW PAYLOAD_BYTES`.
// PUBLISHERS MQTT 3.1.1 clients (ids bridge-pub-<i>) publish QoS 1 on `telemetry/bridge-pub-<i>`
// for DURATION_S seconds, each with at most WINDOW unacknowledged; RATE = total messages
// per second (0 = as fast as the acknowledgements allow). Every payload carries the
// publisher's sequence number (first 8 bytes, as test/helpers/store-clients.ts seqPayload).
// Prints one JSON line: sent, acked, refused (PUBACK >= 0x80), seconds, ack rate.
// Raw frames over node:net: no client library between the load and the broker.
import net from 'node:net';

const [portText, pubText, durText, rateText, windowText, payloadText] = process.argv.slice(2);
const port = Number(portText);
const publishers = Number(pubText);
const durationMs = Number(durText) * 1000;
const rate = Number(rateText);
const windowSize = Number(windowText);
const payloadBytes = Math.max(8, Number(payloadText));

const remaining = (n) => {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
};
const str = (s) => {
  const b = Buffer.from(s);
  const l = Buffer.alloc(2);
  l.writeUInt16BE(b.length);
  return Buffer.concat([l, b]);
};

function connectFrame(clientId) {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60]), str(clientId)]);
  return Buffer.concat([Buffer.from([0x10]), remaining(body.length), body]);
}

function publishFrame(topic, pid, seq) {
  const payload = Buffer.alloc(payloadBytes);
  payload.writeUInt32BE(seq, 0);
  payload.writeUInt32BE(~seq >>> 0, 4);
  const id = Buffer.alloc(2);
  id.writeUInt16BE(pid);
  const body = Buffer.concat([str(topic), id, payload]);
  return Buffer.concat([Buffer.from([0x32]), remaining(body.length), body]);
}

let sent = 0;
let acked = 0;
let refused = 0;
const started = Date.now();
const deadline = started + durationMs;
let lastAckAt = started;

function runPublisher(i) {
  return new Promise((resolve, reject) => {
    const clientId = `bridge-pub-${i}`;
    const topic = `telemetry/${clientId}`;
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let connected = false;
    let seq = 0;
    let inflight = 0;
    let pid = 0;
    let done = false;
    const share = rate > 0 ? rate / publishers : 0;
    const pump = () => {
      if (done) return;
      const now = Date.now();
      if (now >= deadline) {
        if (inflight === 0) finish();
        return;
      }
      const allowed = share > 0 ? Math.floor(((now - started) / 1000) * share) - seq : Infinity;
      const frames = [];
      while (inflight < windowSize && allowed > frames.length) {
        pid = (pid % 65535) + 1;
        frames.push(publishFrame(topic, pid, ++seq));
        inflight++;
        sent++;
      }
      if (frames.length > 0) sock.write(Buffer.concat(frames));
      if (share > 0 && inflight < windowSize) setTimeout(pump, 5);
    };
    const finish = () => {
      if (done) return;
      done = true;
      sock.end();
      resolve();
    };
    sock.on('data', (d) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const type = buf[0] >> 4;
        let len = 0;
        let mul = 1;
        let k = 1;
        for (; k < 5 && k < buf.length; k++) {
          len += (buf[k] & 0x7f) * mul;
          mul *= 128;
          if ((buf[k] & 0x80) === 0) break;
        }
        const total = k + 1 + len;
        if (buf.length < total) break;
        const frame = buf.subarray(k + 1, total);
        buf = buf.subarray(total);
        if (type === 2) {
          if (frame[1] !== 0) return reject(new Error(`CONNACK ${frame[1]}`));
          connected = true;
          pump();
        } else if (type === 4) {
          inflight--;
          acked++;
          lastAckAt = Date.now();
          pump();
        }
      }
    });
    sock.on('error', (e) => (done ? resolve() : reject(e)));
    sock.on('close', () => {
      if (!done) {
        // MQTT 3.1.1 cannot refuse a QoS 1 publish: the broker closes the connection (outbox full).
        refused += inflight;
        done = true;
        resolve();
      }
    });
    sock.write(connectFrame(clientId));
    setTimeout(() => connected || reject(new Error('no CONNACK in 10 s')), 10_000).unref();
  });
}

try {
  await Promise.all(Array.from({ length: publishers }, (_, i) => runPublisher(i)));
  const seconds = (lastAckAt - started) / 1000;
  process.stdout.write(`${JSON.stringify({ sent, acked, refused, seconds, ack_rate: acked / seconds })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: e.message, sent, acked })}\n`);
  process.exitCode = 1;
}
