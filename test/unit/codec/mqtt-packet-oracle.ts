/**
 * mqtt-packet as a test oracle: maps between holdfast's packet model and mqtt-packet's
 * objects (different field names: cmd/messageId/granted/unsubscriptions, boolean
 * flag properties, userProperties as an object, a single subscriptionIdentifier as a
 * number) and normalizes packets for comparison.
 *
 * mqtt-packet keeps user properties as an object, which loses the interleaving of
 * different names, so comparisons go through `normalize`, which orders user properties
 * by name (stable: values of one name keep their order).
 */
import mqttPacket from 'mqtt-packet';
import type { Packet, Properties, ProtocolVersion, QoS, UserProperty } from '../../../src/codec/mqtt/packets.js';

type Obj = Record<string, unknown>;

const CMDS = [
  '', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback',
  'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth',
];
/** Our 0/1 number properties that mqtt-packet models as booleans. */
const BOOLEAN_PROPS = new Set([
  'payloadFormatIndicator', 'requestProblemInformation', 'requestResponseInformation', 'retainAvailable',
  'wildcardSubscriptionAvailable', 'subscriptionIdentifierAvailable', 'sharedSubscriptionAvailable',
]);

function propsToOracle(p: Properties | undefined): Obj | undefined {
  if (p === undefined) return undefined;
  const out: Obj = {};
  for (const [key, value] of Object.entries(p)) {
    if (value === undefined) continue;
    if (key === 'userProperties') {
      const up = Object.create(null) as Record<string, string | string[]>;
      for (const [name, v] of value as UserProperty[]) {
        const prev = up[name];
        up[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      out.userProperties = up;
    } else if (key === 'subscriptionIdentifiers') {
      const ids = value as number[];
      out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
    } else if (key === 'subscriptionIdentifierAvailable') {
      out.subscriptionIdentifiersAvailable = value === 1;
    } else if (BOOLEAN_PROPS.has(key)) {
      out[key] = value === 1;
    } else {
      out[key] = value;
    }
  }
  return out;
}

function propsFromOracle(o: unknown): Properties | undefined {
  if (o === undefined || o === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o as Obj)) {
    if (key === 'userProperties') {
      const pairs: UserProperty[] = [];
      for (const [name, v] of Object.entries(value as Record<string, string | string[]>)) {
        for (const one of Array.isArray(v) ? v : [v]) pairs.push([name, one]);
      }
      out.userProperties = pairs;
    } else if (key === 'subscriptionIdentifier') {
      out.subscriptionIdentifiers = Array.isArray(value) ? value : [value];
    } else if (key === 'subscriptionIdentifiersAvailable') {
      out.subscriptionIdentifierAvailable = value ? 1 : 0;
    } else if (BOOLEAN_PROPS.has(key)) {
      out[key] = value ? 1 : 0;
    } else {
      out[key] = value;
    }
  }
  return out as Properties;
}

/** Our packet as the object mqtt-packet's generate() takes. */
export function toOracle(p: Packet, version: ProtocolVersion): Obj {
  const cmd = CMDS[p.type];
  switch (p.type) {
    case 1:
      return {
        cmd, protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: p.clean,
        keepalive: p.keepalive, clientId: p.clientId, username: p.username, password: p.password,
        will: p.will && { ...p.will, properties: propsToOracle(p.will.properties) },
        properties: propsToOracle(p.properties),
      };
    case 2:
      return version === 5
        ? { cmd, sessionPresent: p.sessionPresent, reasonCode: p.reasonCode, properties: propsToOracle(p.properties) }
        : { cmd, sessionPresent: p.sessionPresent, returnCode: p.reasonCode };
    case 3:
      return {
        cmd, topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup, messageId: p.packetId,
        properties: propsToOracle(p.properties),
      };
    case 4: case 5: case 6: case 7:
      return { cmd, messageId: p.packetId, reasonCode: p.reasonCode ?? 0, properties: propsToOracle(p.properties) };
    case 8:
      return {
        cmd, messageId: p.packetId, properties: propsToOracle(p.properties),
        subscriptions: p.subscriptions.map((s) => ({
          topic: s.topic, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling,
        })),
      };
    case 9:
      return { cmd, messageId: p.packetId, granted: p.reasonCodes, properties: propsToOracle(p.properties) };
    case 10:
      return { cmd, messageId: p.packetId, unsubscriptions: p.topics, properties: propsToOracle(p.properties) };
    case 11:
      return { cmd, messageId: p.packetId, granted: p.reasonCodes, properties: propsToOracle(p.properties) };
    case 12: case 13:
      return { cmd };
    case 14: case 15:
      return { cmd, reasonCode: p.reasonCode ?? 0, properties: propsToOracle(p.properties) };
  }
}

/** An object parsed by mqtt-packet, as our packet model. */
export function fromOracle(o: Obj, version: ProtocolVersion): Packet {
  const type = CMDS.indexOf(o.cmd as string);
  const props = propsFromOracle(o.properties);
  const id = o.messageId as number;
  switch (type) {
    case 1: {
      const will = o.will as Obj | undefined;
      return {
        type, protocolName: o.protocolId as string, protocolVersion: o.protocolVersion as ProtocolVersion,
        clean: o.clean as boolean, keepalive: o.keepalive as number, clientId: o.clientId as string,
        username: o.username as string | undefined, password: o.password as Buffer | undefined,
        will: will && {
          topic: will.topic as string, payload: will.payload as Buffer, qos: will.qos as QoS,
          retain: will.retain as boolean, properties: propsFromOracle(will.properties),
        },
        properties: props,
      };
    }
    case 2:
      return {
        type, sessionPresent: o.sessionPresent as boolean,
        reasonCode: (version === 5 ? o.reasonCode : o.returnCode) as number, properties: props,
      };
    case 3:
      return {
        type, topic: o.topic as string, payload: o.payload as Buffer, qos: o.qos as QoS, retain: o.retain as boolean,
        dup: o.dup as boolean, packetId: (o.qos as number) > 0 ? id : undefined, properties: props,
      };
    case 4: case 5: case 6: case 7:
      return { type, packetId: id, reasonCode: (o.reasonCode as number | undefined) ?? 0, properties: props };
    case 8:
      return {
        type, packetId: id, properties: props,
        subscriptions: (o.subscriptions as Obj[]).map((s) => ({
          topic: s.topic as string, qos: s.qos as QoS, noLocal: s.nl === true, retainAsPublished: s.rap === true,
          retainHandling: ((s.rh as number | undefined) ?? 0) as 0 | 1 | 2,
        })),
      };
    case 9:
      return { type, packetId: id, reasonCodes: o.granted as number[], properties: props };
    case 10:
      return { type, packetId: id, topics: o.unsubscriptions as string[], properties: props };
    case 11:
      return { type, packetId: id, reasonCodes: (o.granted as number[] | undefined) ?? [], properties: props };
    case 12: case 13:
      return { type };
    case 14: case 15:
      return { type, reasonCode: (o.reasonCode as number | undefined) ?? 0, properties: props };
    default:
      throw new Error(`mqtt-packet returned unknown cmd ${String(o.cmd)}`);
  }
}

function normalizeProps(p: Properties | undefined): Properties | undefined {
  if (p === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (k === 'userProperties') {
      const pairs = [...(v as UserProperty[])];
      // Stable sort by name, with the code point order JS objects do NOT use for
      // integer-like keys: both sides go through this, so any total order works.
      pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      out[k] = pairs;
    } else {
      out[k] = v;
    }
  }
  return Object.keys(out).length === 0 ? undefined : (out as Properties);
}

function dropUndefined(o: Obj): Obj {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** A comparable form: no empty property sections, user properties ordered by name, defaults filled. */
export function normalize(p: Packet): Obj {
  const out: Obj = { ...p };
  if ('properties' in p) out.properties = normalizeProps(p.properties);
  if (p.type === 1 && p.will !== undefined) {
    out.will = dropUndefined({ ...p.will, properties: normalizeProps(p.will.properties) });
  }
  if (p.type >= 4 && p.type <= 7) out.reasonCode = (p as { reasonCode?: number }).reasonCode ?? 0;
  if (p.type === 14 || p.type === 15) out.reasonCode = (p as { reasonCode?: number }).reasonCode ?? 0;
  return dropUndefined(out);
}

/** Encode with mqtt-packet. Throws what mqtt-packet reports. */
export function oracleGenerate(o: Obj, version: ProtocolVersion): Buffer {
  return mqttPacket.generate(o as unknown as mqttPacket.Packet, { protocolVersion: version });
}

/** Parse a byte stream with mqtt-packet; throws on the first error it reports. */
export function oracleParse(bytes: Buffer, version: ProtocolVersion): Obj[] {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const out: Obj[] = [];
  let error: Error | undefined;
  parser.on('packet', (pk: unknown) => out.push(pk as Obj));
  parser.on('error', (e: Error) => {
    error ??= e;
  });
  parser.parse(bytes);
  if (error !== undefined) throw error;
  return out;
}

/** Packets mqtt-packet refuses to generate although they are valid MQTT. */
export function oracleCanGenerate(p: Packet, version: ProtocolVersion): boolean {
  if (p.type === 1) {
    if (p.password !== undefined && p.username === undefined) return false;
    if (p.will !== undefined && p.will.topic === '') return false;
    if (p.clientId === '' && (version === 3 || !p.clean)) return false;
  }
  return true;
}

function userPropsOk(p: Properties | undefined): boolean {
  const seen = new Map<string, string>();
  for (const [name, value] of p?.userProperties ?? []) {
    // mqtt-packet 9 parser: a repeated name whose first value is '' (falsy) is overwritten
    // instead of collected into an array.
    if (seen.get(name) === '') return false;
    if (!seen.has(name)) seen.set(name, value);
  }
  return true;
}

/** Packets whose mqtt-packet parse is known to be wrong (mqtt-packet bugs, not ours). */
export function oracleCanParse(p: Packet): boolean {
  if ('properties' in p && !userPropsOk(p.properties)) return false;
  return p.type !== 1 || p.will === undefined || userPropsOk(p.will.properties);
}
