/**
 * `holdfast devices add|list|show|disable|enable|rotate-secret|delete`: the device registry
 * through the admin API (docs/api.md). Exit codes: src/app/api/cli-support.ts.
 */
import type { ApiClient } from '../api/client.js';
import { clientFrom, EXIT, intFrom, jsonFrom, labelsFrom, parseCommand, printJson, reportFailure, time, UsageFailure } from '../api/cli-support.js';
import type { CliIO } from './io.js';
import { DEVICES_USAGE } from './usage.js';

const OPTIONS = {
  type: { type: 'string' },
  label: { type: 'string', multiple: true },
  metadata: { type: 'string' },
  disabled: { type: 'boolean' },
  enabled: { type: 'boolean' },
  'no-secret': { type: 'boolean' },
  presence: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  'overlap-s': { type: 'string' },
} as const;

type Values = Record<string, unknown> & { json?: boolean };

export async function devicesCommand(args: string[], io: CliIO): Promise<number> {
  try {
    const { values, positionals } = parseCommand(args, OPTIONS, 'devices');
    const [sub, ...rest] = positionals;
    if (values.help === true || sub === undefined || sub === 'help') {
      (sub === undefined && values.help !== true ? io.stderr : io.stdout).write(DEVICES_USAGE);
      return sub === undefined && values.help !== true ? EXIT.FAILED : EXIT.OK;
    }
    const api = clientFrom(values, io);
    const one = (): string => {
      if (rest.length !== 1) throw new UsageFailure(`devices ${sub} needs one device id (see holdfast devices --help)`);
      return rest[0]!;
    };
    switch (sub) {
      case 'add':
        return await add(api, one(), values, io);
      case 'list':
        if (rest.length > 0) throw new UsageFailure('devices list takes no arguments (filters are flags)');
        return await list(api, values, io);
      case 'show':
        return await show(api, one(), values, io);
      case 'disable':
      case 'enable': {
        const d = await api.setEnabled(one(), sub === 'enable');
        if (values.json === true) printJson(io, d);
        else io.stdout.write(`device ${d.id} ${d.enabled ? 'enabled' : 'disabled (kicked if it was connected)'}\n`);
        return EXIT.OK;
      }
      case 'rotate-secret': {
        const id = one();
        const issued = await api.issueSecret(id, intFrom(values['overlap-s'], 'overlap-s'));
        if (values.json === true) printJson(io, issued);
        else {
          const overlap = values['overlap-s'] === undefined ? 'older secrets no longer work' : `older secrets keep working for ${String(values['overlap-s'])} s`;
          io.stdout.write(`new secret for ${id} (shown once; ${overlap}):\n${issued.secret}\n`);
        }
        return EXIT.OK;
      }
      case 'delete': {
        const id = one();
        await api.deleteDevice(id);
        if (values.json === true) printJson(io, { deleted: id });
        else io.stdout.write(`device ${id} deleted\n`);
        return EXIT.OK;
      }
      default:
        throw new UsageFailure(`unknown devices command '${sub}' (see holdfast devices --help)`);
    }
  } catch (err) {
    return reportFailure(err, io, 'devices');
  }
}

async function add(api: ApiClient, id: string, values: Values, io: CliIO): Promise<number> {
  if (typeof values.type !== 'string') throw new UsageFailure('devices add needs --type TYPE');
  const metadata = values.metadata === undefined ? undefined : jsonFrom(String(values.metadata), '--metadata');
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))) throw new UsageFailure('--metadata must be a JSON object');
  const labels = labelsFrom(values.label);
  const device = await api.createDevice({
    id,
    type: values.type,
    ...(labels === undefined ? {} : { labels }),
    ...(metadata === undefined ? {} : { metadata: metadata as Record<string, unknown> }),
    ...(values.disabled === true ? { enabled: false } : {}),
  });
  const issued = values['no-secret'] === true ? undefined : await api.issueSecret(id);
  if (values.json === true) {
    printJson(io, issued === undefined ? { device } : { device, secret: issued.secret, credential: issued.credential });
    return EXIT.OK;
  }
  io.stdout.write(`created device ${device.id} (type ${device.type}${device.enabled ? '' : ', disabled'})\n`);
  if (issued !== undefined) {
    io.stdout.write(`MQTT client id: ${device.id}\nsecret (the MQTT password; shown once, store it now):\n${issued.secret}\n`);
  }
  return EXIT.OK;
}

async function list(api: ApiClient, values: Values, io: CliIO): Promise<number> {
  if (values.enabled === true && values.disabled === true) throw new UsageFailure('give --enabled or --disabled, not both');
  const labels = labelsFrom(values.label);
  const limit = intFrom(values.limit, 'limit', 1) ?? 100;
  const all = [];
  let cursor = values.cursor as string | undefined;
  let next: string | undefined;
  do {
    const page = await api.listDevices({
      ...(typeof values.type === 'string' ? { type: values.type } : {}),
      ...(labels === undefined ? {} : { labels }),
      ...(values.enabled === true ? { enabled: true } : values.disabled === true ? { enabled: false } : {}),
      ...(typeof values.presence === 'string' ? { presence: values.presence } : {}),
      ...(cursor === undefined ? {} : { cursor }),
      limit: Math.min(limit, 1000),
    });
    all.push(...page.items);
    next = page.nextCursor;
    cursor = next;
  } while (values.all === true && next !== undefined);
  if (values.json === true) {
    printJson(io, next === undefined ? { items: all } : { items: all, nextCursor: next });
    return EXIT.OK;
  }
  const rows = all.map((d) => [d.id, d.type, d.enabled ? 'yes' : 'no', Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-']);
  io.stdout.write(table(['ID', 'TYPE', 'ENABLED', 'LABELS'], rows));
  if (next !== undefined) io.stderr.write(`more devices: --cursor ${next} (or --all)\n`);
  return EXIT.OK;
}

async function show(api: ApiClient, id: string, values: Values, io: CliIO): Promise<number> {
  const [device, creds] = await Promise.all([api.getDevice(id), api.credentials(id)]);
  if (values.json === true) {
    printJson(io, { ...device, credentials: creds.items });
    return EXIT.OK;
  }
  const p = device.presence;
  const lines = [
    `id:        ${device.id}`,
    `type:      ${device.type}`,
    `enabled:   ${device.enabled ? 'yes' : 'no'}`,
    `labels:    ${Object.entries(device.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`,
    `metadata:  ${JSON.stringify(device.metadata)}`,
    `created:   ${time(device.createdAt)}   updated: ${time(device.updatedAt)}`,
    `presence:  ${p === undefined ? 'never connected' : `${p.state} since ${time(p.since)}, last seen ${time(p.lastSeen)}`}`,
  ];
  if (p !== undefined) {
    if (p.remoteAddress !== undefined) lines.push(`address:   ${p.remoteAddress} (MQTT ${p.protocolVersion === 5 ? '5.0' : '3.1.1'})`);
    if (p.lastDisconnectCause !== undefined) lines.push(`last disconnect: ${p.lastDisconnectCause}${p.lastDisconnectReasonCode === undefined ? '' : ` (0x${p.lastDisconnectReasonCode.toString(16)})`}`);
    lines.push(`connects in the last minute: ${p.connectsLastMinute}`);
  }
  lines.push(`credentials: ${creds.items.length === 0 ? 'none' : ''}`);
  for (const c of creds.items) {
    const what = c.kind === 'secret' ? 'secret' : c.fingerprint256 !== undefined ? `x509 fingerprint ${c.fingerprint256}` : `x509 CN=${c.subjectCN ?? '?'}`;
    lines.push(`  ${c.id}  ${what}  created ${time(c.createdAt)}${c.expiresAt === undefined ? '' : `  expires ${time(c.expiresAt)}`}`);
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.OK;
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}
