/**
 * Renders docs/configuration.md from the schema (through its JSON Schema), so that the
 * documented keys, types and defaults are the real ones. scripts/gen-config-docs.mjs
 * writes the file; a unit test fails when the file and the schema disagree.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';
import { TWINS } from './sources.js';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  defaultText?: string;
  docType?: string;
  docDefault?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  required?: string[];
}

export interface ConfigKeyDoc {
  key: string;
  type: string;
  default: string;
  description: string;
  twin: string;
}

function typeOf(s: JsonSchema): string {
  if (s.docType !== undefined) return s.docType;
  if (s.anyOf !== undefined) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.enum !== undefined) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.type === 'integer' || s.type === 'number') {
    const range = s.minimum !== undefined && s.maximum !== undefined ? ` ${s.minimum}-${s.maximum}` : s.minimum !== undefined ? ` >= ${s.minimum}` : '';
    return `${s.type}${range}`;
  }
  if (s.type === 'array') return `list of ${s.items !== undefined ? typeOf(s.items) : 'values'}`;
  return s.type ?? 'any';
}

function defaultOf(s: JsonSchema, required: boolean): string {
  if (s.docDefault !== undefined) return s.docDefault;
  if (s.defaultText !== undefined) return s.defaultText;
  if (s.default !== undefined) return `\`${JSON.stringify(s.default)}\``;
  return required ? '(required)' : '';
}

function walk(s: JsonSchema, path: string, required: boolean, out: ConfigKeyDoc[]): void {
  if (s.type === 'object' && s.properties !== undefined) {
    for (const [key, child] of Object.entries(s.properties)) {
      walk(child, path === '' ? key : `${path}.${key}`, s.required?.includes(key) ?? false, out);
    }
    return;
  }
  const twin = TWINS.find((t) => t.path?.join('.') === path);
  out.push({
    key: path,
    type: s.type === 'array' && s.items?.type === 'object' ? 'list of objects (below)' : typeOf(s),
    default: defaultOf(s, required),
    description: s.description ?? '',
    twin: twin !== undefined ? `\`--${twin.flag}\`, \`${twin.env}\`` : '',
  });
  if (s.type === 'array' && s.items?.type === 'object') walk(s.items, `${path}[]`, true, out);
}

/** Every key of the config file, in schema order, with type, default and description. */
export function configKeyDocs(): ConfigKeyDoc[] {
  const json = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out: ConfigKeyDoc[] = [];
  walk(json, '', false, out);
  return out;
}

const cell = (text: string): string => text.replace(/\|(?<!\\\|)/g, '\\|').replace(/\n/g, ' ');

export function renderConfigDocs(): string {
  const rows = configKeyDocs();
  const sections = new Map<string, ConfigKeyDoc[]>();
  for (const row of rows) {
    const section = row.key.includes('.') ? row.key.slice(0, row.key.indexOf('.')) : row.key.replace(/\[\]$/, '');
    const list = sections.get(section) ?? [];
    list.push(row);
    sections.set(section, list);
  }
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from src/app/config/schema.ts by `node scripts/gen-config-docs.mjs` (after `npm run build`).',
    '     Do not edit by hand: test/unit/app/config-docs.test.ts fails when this file and the schema differ. -->',
    '',
    'holdfast reads one YAML file (`holdfast start --config FILE`, or `HOLDFAST_CONFIG`).',
    'Every key is optional and has a default; unknown keys are errors. Values are applied in this',
    'order, later ones winning: **defaults < config file < environment variables < command-line flags**.',
    'Relative paths (`dataDir`, TLS files) are resolved against the working directory of the process.',
    'Units are part of the key names (`...Ms` milliseconds, `...S` seconds, `...Bytes` bytes).',
    '',
    'Check a file without starting anything: `holdfast config check FILE`.',
    '',
    '## Flags and environment variables',
    '',
    '| Flag | Environment | Sets |',
    '| --- | --- | --- |',
    ...TWINS.map((t) => `| \`--${t.flag}\` | \`${t.env}\` | ${t.path === undefined ? 'the config file to read' : `\`${t.path.join('.')}\``} |`),
    '',
    'A port flag or variable takes a number (0 picks a free port) or `off` to disable that listener.',
    'An empty environment variable counts as unset.',
    '',
  ];
  for (const [section, list] of sections) {
    lines.push(`## \`${section}\``, '', '| Key | Type | Default | Flag / env | Description |', '| --- | --- | --- | --- | --- |');
    for (const r of list) lines.push(`| \`${r.key}\` | ${cell(r.type)} | ${cell(r.default)} | ${r.twin} | ${cell(r.description)} |`);
    lines.push('');
  }
  lines.push(
    '## Example',
    '',
    '```yaml',
    'mqtt:',
    '  maxKeepAliveS: 60            # returned as Server Keep Alive when a v5 client asks for more',
    'acl:',
    '  deniedSubscribeReasonCode: 0x87   # or 0x80, for old client libraries',
    '  rules:                       # first match wins; no match = allowed',
    '    - { action: subscribe, topic: "test/nosubscribe", allow: false }',
    '    - { action: publish, topic: "devices/%c/#", allow: true }   # %c client id, %u username',
    '    - { action: all, topic: "#", allow: true }                   # action: publish|subscribe|all',
    'auth:',
    '  users:                       # from `holdfast passwd --username alice`',
    '    - username: alice',
    '      passwordHash: scrypt$16384$8$1$...$...',
    'listeners:',
    '  mqtt: { port: 1883 }',
    '  ws: { port: 8083, path: /mqtt }',
    '  tls: { port: 8883, certFile: /etc/holdfast/tls.crt, keyFile: /etc/holdfast/tls.key }',
    'http:',
    '  port: 8080',
    'dataDir: /var/lib/holdfast',
    '```',
    '',
    'ACL matching rules (publish vs. subscribe, `%c`/`%u`) and the anonymous-access policy are',
    'explained in [operations.md](operations.md#access-control).',
    '',
  );
  return lines.join('\n');
}
