/**
 * The NATS subject a message is published to: a template over the message, by default
 * `holdfast.{topic}`. Placeholders:
 *   {topic}     the MQTT topic, one subject token per topic level (`/` -> `.`)
 *   {clientId}  the publisher's client id (one token; `_` when the server published it)
 *   {qos}       0, 1 or 2
 * The literal parts of the template are taken as they are (validated once, at start).
 *
 * NATS subject tokens may not be empty and may not contain `.`, `*`, `>` or whitespace
 * (NATS subject naming rules, "Subject-Based Messaging"); MQTT topic levels may be empty
 * and may contain any of those. Every topic level (and the client id) is therefore
 * sanitized, so that a publisher can never produce a wildcard, split a token or reach a
 * system subject (`$JS.API...`):
 *   - `%`, `.`, `*`, `>`, whitespace (Unicode too), control characters and DEL are percent-encoded
 *     (UTF-8 bytes, as in URLs)
 *     (`a.b` -> `a%2Eb`, `%` itself -> `%25`, so the encoding is reversible);
 *   - a `$` that starts a token is encoded too (`$SYS` -> `%24SYS`);
 *   - an empty level (`a//b`, `/a`) becomes `%` followed by nothing else: the token `%`,
 *     which no encoded level can equal (a literal `%` is always `%25`).
 * So `devices/d1/temp` -> `holdfast.devices.d1.temp` and the mapping is one-to-one.
 */
import { HoldfastError } from '../../../errors/index.js';

export interface SubjectInput {
  readonly topic: string;
  readonly publisherId: string | undefined;
  readonly qos: number;
}

export type SubjectTemplate = (m: SubjectInput) => string;

const PLACEHOLDER = /\{(topic|clientId|qos)\}/g;
const ANY_PLACEHOLDER = /\{[^}]*\}/g;
const UNICODE_SPACE = /[\s\ufeff]/;

/** One MQTT topic level (or a client id) as a valid, non-empty NATS subject token. */
export function sanitizeToken(level: string): string {
  if (level.length === 0) return '%';
  let out = '';
  let plainFrom = 0;
  for (let i = 0; i < level.length; i++) {
    const c = level.charCodeAt(i);
    const encode =
      c <= 0x20 || (c >= 0x7f && c <= 0xa0) || c === 0x25 /* % */ || c === 0x2e /* . */ || c === 0x2a /* * */ ||
      c === 0x3e /* > */ || (c === 0x24 /* $ */ && i === 0) || (c > 0xa0 && UNICODE_SPACE.test(level[i]!));
    if (!encode) continue;
    out += level.slice(plainFrom, i) + percent(c);
    plainFrom = i + 1;
  }
  return plainFrom === 0 ? level : out + level.slice(plainFrom);
}

function percent(c: number): string {
  if (c < 0x80) return `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
  return encodeURIComponent(String.fromCharCode(c));
}

/** The subject tokens of an MQTT topic. */
export function topicToSubject(topic: string): string {
  return topic.split('/').map(sanitizeToken).join('.');
}

/** Throws NATS_SINK_CONFIG when the template is unusable. */
export function compileSubjectTemplate(template: string): SubjectTemplate {
  const unknown = (template.match(ANY_PLACEHOLDER) ?? []).filter((p) => !/^\{(topic|clientId|qos)\}$/.test(p));
  if (unknown.length > 0) {
    throw new HoldfastError('NATS_SINK_CONFIG', `subject template ${template}: unknown placeholder ${unknown[0]} (use {topic}, {clientId}, {qos})`);
  }
  // Validate the literal parts with a sample: every token non-empty, no wildcards, no spaces.
  const sample = template.replace(PLACEHOLDER, 'x');
  if (!isValidSubject(sample)) {
    throw new HoldfastError('NATS_SINK_CONFIG', `subject template ${template} does not give a valid NATS subject (tokens separated by '.', none empty, no '*', '>' or spaces)`);
  }
  return (m) =>
    template.replace(PLACEHOLDER, (_all, name: string) => {
      if (name === 'topic') return topicToSubject(m.topic);
      if (name === 'clientId') return m.publisherId === undefined || m.publisherId === '' ? '_' : sanitizeToken(m.publisherId);
      return String(m.qos);
    });
}

/** A publishable subject: non-empty tokens, no wildcards, no whitespace. */
export function isValidSubject(subject: string): boolean {
  if (subject.length === 0) return false;
  for (const token of subject.split('.')) {
    if (token.length === 0 || token === '*' || token === '>' || /[\s*>]/.test(token)) return false;
  }
  return true;
}

/**
 * The stream subjects that capture every subject the template can produce, for
 * `ensureStream`: `holdfast.{topic}` -> `holdfast.>`; `{clientId}` and `{qos}` -> `*`.
 * {topic} spans any number of tokens, so it is only allowed as the last token; otherwise
 * the subjects must be configured (`streamSubjects`): undefined is returned.
 */
export function streamSubjectsOf(template: string): string[] | undefined {
  const tokens = template.split('.');
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '{topic}') {
      if (i !== tokens.length - 1) return undefined;
      out.push('>');
    } else if (t === '{clientId}' || t === '{qos}') {
      out.push('*');
    } else if (t.includes('{')) {
      return undefined; // a placeholder inside a token: no wildcard can express it
    } else {
      out.push(t);
    }
  }
  return [out.join('.')];
}
