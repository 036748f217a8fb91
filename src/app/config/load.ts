/**
 * Loads the config: defaults < file < environment < flags (< programmatic overrides),
 * validates it against the one schema and reports every problem at once.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { configSchema, type HoldfastConfig } from './schema.js';
import { configFileFrom, envLayer, flagLayer, type EnvValues, type FlagValues, type Layer } from './sources.js';
import { configError, describeIssues, type FileContext } from './problems.js';

export interface LoadConfigOptions {
  /** Config file; when absent, --config (flags) then HOLDFAST_CONFIG (env) name it. */
  file?: string | undefined;
  env?: EnvValues;
  flags?: FlagValues;
  /** Same shape as the file; applied last (for tests and embedding). */
  overrides?: Record<string, unknown>;
}

export interface LoadedConfig {
  config: HoldfastConfig;
  /** The file that was read, if any. */
  file: string | undefined;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects merge key by key; everything else (arrays included) is replaced. */
export function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const prev = out[key];
    out[key] = isPlain(prev) && isPlain(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

async function readConfigFile(file: string): Promise<{ values: Plain; ctx: FileContext }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code;
    throw configError(file, [`cannot read config file ${file}: ${why}`]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw configError(
      file,
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return `${file}:${line}:${col}: YAML: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const values: unknown = doc.toJS();
  if (values === null || values === undefined) return { values: {}, ctx: { name: file, doc, lines } };
  if (!isPlain(values)) throw configError(file, [`${file}: expected a mapping of settings (key: value) at the top level`]);
  return { values, ctx: { name: file, doc, lines } };
}

function sourceName(file: string | undefined, layers: readonly Layer[]): string {
  const parts = file !== undefined ? [file] : [];
  if (layers.some((l) => [...l.origins.values()].some((o) => o.startsWith('environment')))) parts.push('environment');
  if (layers.some((l) => [...l.origins.values()].some((o) => o.startsWith('flag')))) parts.push('flags');
  return parts.length > 0 ? parts.join(' + ') : 'defaults';
}

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? {};
  const flags = opts.flags ?? {};
  const file = opts.file ?? configFileFrom(flags, env);
  const fromFile = file !== undefined ? await readConfigFile(file) : undefined;

  const layers = [envLayer(env), flagLayer(flags)];
  let merged: Plain = fromFile?.values ?? {};
  const origins = new Map<string, string>();
  for (const layer of layers) {
    merged = deepMerge(merged, layer.values);
    for (const [k, v] of layer.origins) origins.set(k, v);
  }
  if (opts.overrides !== undefined) merged = deepMerge(merged, opts.overrides);

  const ctx = { origins, file: fromFile?.ctx, schema: configSchema };
  const parsed = configSchema.safeParse(merged, { reportInput: true });
  if (!parsed.success) throw configError(sourceName(file, layers), describeIssues(parsed.error.issues, ctx));

  // INTERFACES.md: TLS listens only when a certificate and key are configured. A TLS port
  // asked for explicitly without them is a mistake worth stopping for, not a silent no-op.
  const tls = parsed.data.listeners.tls;
  const askedTlsPort = (merged.listeners as Plain | undefined)?.tls as Plain | undefined;
  if (typeof askedTlsPort?.port === 'number' && (tls.certFile === undefined || tls.keyFile === undefined)) {
    const path = ['listeners', 'tls', 'port'];
    throw configError(
      sourceName(file, layers),
      describeIssues(
        [{ code: 'custom', path, message: 'TLS needs listeners.tls.certFile and listeners.tls.keyFile', input: askedTlsPort.port }],
        ctx,
      ),
    );
  }
  return { config: parsed.data, file };
}
