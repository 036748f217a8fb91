/**
 * Payload templates of bridge routes: a JSON envelope with placeholders, e.g.
 *
 *   {"device":"{clientId}","topic":"{topic}","at":{timestamp},"data":{payloadJson}}
 *
 * Safe by construction: a template is parsed once (unknown placeholders are config errors)
 * into literal parts and placeholders; string values are inserted JSON-escaped (without
 * quotes: the template puts them inside a JSON string), numbers as digits, and
 * {payloadJson} as the payload's own JSON text when the payload is valid JSON, `null`
 * otherwise. Nothing is evaluated. A template must render valid JSON (checked at load with
 * sample values), so the body is JSON whatever the message holds.
 */
export interface TemplateInput {
  topic: string;
  clientId: string | undefined;
  messageId: number;
  idempotencyKey: string;
  qos: number;
  /** ms since epoch (the message's arrival at the broker). */
  timestamp: number;
  payload: Buffer;
}

type Placeholder =
  | 'topic'
  | 'clientId'
  | 'messageId'
  | 'idempotencyKey'
  | 'qos'
  | 'timestamp'
  | 'timestampIso'
  | 'payloadBase64'
  | 'payloadUtf8'
  | 'payloadJson';

export const PLACEHOLDERS: readonly Placeholder[] = [
  'topic',
  'clientId',
  'messageId',
  'idempotencyKey',
  'qos',
  'timestamp',
  'timestampIso',
  'payloadBase64',
  'payloadUtf8',
  'payloadJson',
];

/** A JSON string's content (no quotes). */
const esc = (s: string): string => JSON.stringify(s).slice(1, -1);

function jsonText(payload: Buffer): string {
  if (payload.length === 0) return 'null';
  const text = payload.toString('utf8');
  try {
    JSON.parse(text);
    return text;
  } catch {
    return 'null';
  }
}

function value(p: Placeholder, m: TemplateInput): string {
  switch (p) {
    case 'topic':
      return esc(m.topic);
    case 'clientId':
      return esc(m.clientId ?? '');
    case 'messageId':
      return String(m.messageId);
    case 'idempotencyKey':
      return esc(m.idempotencyKey);
    case 'qos':
      return String(m.qos);
    case 'timestamp':
      return String(m.timestamp);
    case 'timestampIso':
      return new Date(m.timestamp).toISOString();
    case 'payloadBase64':
      return m.payload.toString('base64');
    case 'payloadUtf8':
      return esc(m.payload.toString('utf8'));
    case 'payloadJson':
      return jsonText(m.payload);
  }
}

export interface PayloadTemplate {
  readonly source: string;
  render(m: TemplateInput): Buffer;
}

const SAMPLE: TemplateInput = {
  topic: 'sample/"topic"\\',
  clientId: 'dev"1',
  messageId: 1,
  idempotencyKey: 'x-1',
  qos: 1,
  timestamp: 0,
  payload: Buffer.from('{"a":[1,"\\u0000"]}'),
};

/** Parses a template; throws an Error naming the problem (unknown placeholder, not JSON). */
export function compileTemplate(source: string): PayloadTemplate {
  const literals: string[] = [];
  const holes: Placeholder[] = [];
  const re = /\{([A-Za-z][A-Za-z0-9]*)\}/g;
  let last = 0;
  for (let m = re.exec(source); m !== null; m = re.exec(source)) {
    const name = m[1]!;
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new Error(`unknown placeholder {${name}}; known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
    }
    literals.push(source.slice(last, m.index));
    holes.push(name as Placeholder);
    last = m.index + m[0].length;
  }
  literals.push(source.slice(last));
  const render = (m: TemplateInput): Buffer => {
    let out = literals[0]!;
    for (let i = 0; i < holes.length; i++) out += value(holes[i]!, m) + literals[i + 1]!;
    return Buffer.from(out, 'utf8');
  };
  for (const payload of [SAMPLE.payload, Buffer.from([0xff, 0x00, 0x22])]) {
    const text = render({ ...SAMPLE, payload }).toString('utf8');
    try {
      JSON.parse(text);
    } catch {
      throw new Error(`the template does not render valid JSON (put string placeholders inside quotes); sample: ${text.slice(0, 200)}`);
    }
  }
  return { source, render };
}
