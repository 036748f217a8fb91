/**
 * What a NATS message on the ingress stream becomes (docs/bridges-nats-postgres.md):
 *
 * - a device command, when commands are enabled and either the subject is
 *   `<commands.subjectPrefix>.<deviceId>.<name>` (the last token is the command name, the
 *   tokens between are the device id, dots included) or the message has a
 *   `Holdfast-Command: <name>` header (device from `Holdfast-Device`, else the subject).
 *   The body is the command payload as JSON (empty = null); optional header
 *   `Holdfast-Command-Timeout-Ms`.
 * - otherwise an MQTT publish: topic from the `Holdfast-Topic` header (configurable), else
 *   from the subject (prefix stripped, tokens percent-decoded as the NATS sink encodes
 *   them, `.` -> `/`, topicPrefix prepended); QoS and retain from the config, overridden
 *   by `Holdfast-Qos` / `Holdfast-Retain`; `Content-Type` -> content type,
 *   `Holdfast-Message-Expiry-S` -> message expiry; other headers (not Nats-*, not
 *   Holdfast-*) -> MQTT 5 user properties.
 * - invalid, with the reason, when none of that works (no topic, wildcards in the topic
 *   (MQTT-4.7.1-1), a `$` topic, a bad header value, a body that is too large or not JSON
 *   for a command). Invalid messages are retried, then dead-lettered.
 */
import type { Properties, QoS, UserProperty } from '../../codec/mqtt/packets.js';
import { isValidTopicName, type TopicLimits } from '../../broker/routing/index.js';
import type { NewCommand } from '../contracts.js';
import type { IngressCommandOptions, IngressMappingOptions } from './ingress-options.js';

/** The parts of a NATS message the mapping looks at. */
export interface IngressMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Header value or undefined (case-insensitive lookup is the caller's job). */
  header(name: string): string | undefined;
  headerNames(): string[];
}

export type IngressAction =
  | {
      readonly kind: 'publish';
      readonly topic: string;
      readonly payload: Buffer;
      readonly qos: QoS;
      readonly retain: boolean;
      readonly properties: Properties | undefined;
      readonly messageExpiryS: number | undefined;
    }
  | { readonly kind: 'command'; readonly deviceId: string; readonly command: NewCommand }
  | { readonly kind: 'invalid'; readonly reason: string };

export const H = {
  QOS: 'Holdfast-Qos',
  RETAIN: 'Holdfast-Retain',
  EXPIRY: 'Holdfast-Message-Expiry-S',
  COMMAND: 'Holdfast-Command',
  DEVICE: 'Holdfast-Device',
  COMMAND_TIMEOUT: 'Holdfast-Command-Timeout-Ms',
  CONTENT_TYPE: 'Content-Type',
} as const;

const invalid = (reason: string): IngressAction => ({ kind: 'invalid', reason });

export function mapIngressMessage(
  m: IngressMessage,
  mapping: IngressMappingOptions,
  commands: IngressCommandOptions,
  limits: TopicLimits,
): IngressAction {
  if (m.data.length > mapping.maxPayloadBytes) return invalid(`payload of ${m.data.length} bytes is over maxPayloadBytes ${mapping.maxPayloadBytes}`);
  if (commands.enabled) {
    const command = commandOf(m, commands);
    if (command !== undefined) return command;
  }
  return publishOf(m, mapping, limits);
}

function commandOf(m: IngressMessage, o: IngressCommandOptions): IngressAction | undefined {
  const fromSubject = o.subjectPrefix !== undefined ? tokensAfter(m.subject, o.subjectPrefix) : undefined;
  const named = m.header(H.COMMAND);
  if (named === undefined && fromSubject === undefined) return undefined;
  let deviceId: string | undefined;
  let name: string | undefined;
  if (named !== undefined) {
    name = named;
    deviceId = m.header(H.DEVICE) ?? (fromSubject !== undefined && fromSubject.length > 0 ? fromSubject.map(decodeToken).join('.') : undefined);
  } else if (fromSubject !== undefined && fromSubject.length >= 2) {
    name = decodeToken(fromSubject[fromSubject.length - 1]!);
    deviceId = fromSubject.slice(0, -1).map(decodeToken).join('.');
  }
  if (deviceId === undefined || deviceId === '') return invalid('a command needs a device (subject <prefix>.<deviceId>.<name> or header Holdfast-Device)');
  if (name === undefined || name === '') return invalid('a command needs a name (last subject token or header Holdfast-Command)');
  let payload: unknown = null;
  if (m.data.length > 0) {
    try {
      payload = JSON.parse(Buffer.from(m.data).toString('utf8'));
    } catch {
      return invalid('a command payload must be JSON');
    }
  }
  const command: NewCommand = { name, payload };
  const timeout = m.header(H.COMMAND_TIMEOUT);
  if (timeout !== undefined) {
    const ms = Number(timeout);
    if (!Number.isSafeInteger(ms) || ms < 1) return invalid(`${H.COMMAND_TIMEOUT} must be a positive integer`);
    command.timeoutMs = ms;
  }
  return { kind: 'command', deviceId, command };
}

function publishOf(m: IngressMessage, o: IngressMappingOptions, limits: TopicLimits): IngressAction {
  let topic = m.header(o.topicHeader);
  if (topic === undefined) {
    const tokens = o.subjectPrefix === undefined ? m.subject.split('.') : tokensAfter(m.subject, o.subjectPrefix);
    if (tokens === undefined || tokens.length === 0) return invalid(`no ${o.topicHeader} header and the subject is not under ${o.subjectPrefix ?? ''}`);
    topic = o.topicPrefix + tokens.map(decodeToken).join('/');
  }
  if (!isValidTopicName(topic, limits)) return invalid(`not a valid MQTT topic name: ${JSON.stringify(topic.slice(0, 200))}`); // MQTT-4.7.1-1, MQTT-4.7.3-1
  if (topic.includes('\u0000')) return invalid('the topic contains U+0000'); // MQTT-1.5.4-2
  if (topic.startsWith('$') && !o.allowSystemTopics) return invalid(`topics starting with $ are reserved for the server: ${topic.slice(0, 200)}`);

  let qos: QoS = o.qos;
  const q = m.header(H.QOS);
  if (q !== undefined) {
    if (q !== '0' && q !== '1' && q !== '2') return invalid(`${H.QOS} must be 0, 1 or 2`);
    qos = Number(q) as QoS;
  }
  let retain = o.retain;
  const r = m.header(H.RETAIN)?.toLowerCase();
  if (r !== undefined) {
    if (r !== 'true' && r !== 'false' && r !== '1' && r !== '0') return invalid(`${H.RETAIN} must be true or false`);
    retain = r === 'true' || r === '1';
  }
  let messageExpiryS: number | undefined;
  const e = m.header(H.EXPIRY);
  if (e !== undefined) {
    const n = Number(e);
    if (!Number.isSafeInteger(n) || n < 1 || n > 0xffffffff) return invalid(`${H.EXPIRY} must be an integer of seconds 1..4294967295`); // MQTT5 3.3.2.3.3
    messageExpiryS = n;
  }
  const properties: Properties = {};
  const ct = m.header(H.CONTENT_TYPE);
  if (ct !== undefined) properties.contentType = ct;
  if (o.headersAsUserProperties) {
    const ups: UserProperty[] = [];
    for (const name of m.headerNames()) {
      const lower = name.toLowerCase();
      if (lower.startsWith('nats-') || lower.startsWith('holdfast-') || lower === 'content-type' || name === o.topicHeader) continue;
      const v = m.header(name);
      if (v !== undefined) ups.push([name, v]); // MQTT5 3.3.2.3.7
    }
    if (ups.length > 0) properties.userProperties = ups;
  }
  return {
    kind: 'publish',
    topic,
    payload: Buffer.from(m.data), // a copy: the client may reuse its read buffer
    qos,
    retain,
    properties: Object.keys(properties).length > 0 ? properties : undefined,
    messageExpiryS,
  };
}

/** The tokens of `subject` after `prefix` (itself one or more tokens), or undefined when not under it. */
export function tokensAfter(subject: string, prefix: string): string[] | undefined {
  if (prefix === '') return subject.split('.');
  if (!subject.startsWith(`${prefix}.`)) return undefined;
  return subject.slice(prefix.length + 1).split('.');
}

/** The inverse of the NATS sink's token encoding: `%` alone = empty level, `%XX` = that byte. */
export function decodeToken(token: string): string {
  if (token === '%') return '';
  if (!token.includes('%')) return token;
  try {
    return decodeURIComponent(token);
  } catch {
    return token; // not our encoding: taken as it is
  }
}
