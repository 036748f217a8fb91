/**
 * Turns schema issues into one line per problem, each naming the key's path and where
 * the bad value came from: `mqtt.maxKeepAliveS: expected number, received string
 * (holdfast.yaml:3:18)` or `listeners.mqtt.port: ... (from flag --mqtt-port)`.
 */
import type { z } from 'zod';
import { isMap, isScalar, type Document, type LineCounter } from 'yaml';
import { HoldfastError, isHoldfastError } from '../../errors/index.js';

export interface FileContext {
  name: string;
  doc: Document;
  lines: LineCounter;
}

export interface ProblemContext {
  /** Where values came from, by dotted key path, for keys set by environment or flags. */
  origins: ReadonlyMap<string, string>;
  file: FileContext | undefined;
  /** The schema, to suggest the key that was probably meant. */
  schema: z.ZodType;
}

export type PathSegment = string | number;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(top level)' : out;
}

function cleanMessage(issue: z.core.$ZodIssue): string {
  let msg = issue.message.replace(/^(Invalid input|Invalid option|Too big|Too small|Invalid string): /, '');
  if (issue.code === 'invalid_type' && / received undefined$/.test(msg)) return 'required';
  const input = (issue as { input?: unknown }).input;
  const showInput = issue.code !== 'invalid_type' && issue.code !== 'custom' && input !== undefined && typeof input !== 'object';
  if (showInput && !msg.includes('received')) msg += `, received ${JSON.stringify(input)}`;
  return msg;
}

/** The YAML node at a path (the key node for `keyOf`), as "file:line:col". */
function locate(file: FileContext, path: readonly PropertyKey[], keyOf?: string): string | undefined {
  const asKeys = path.map((p) => (typeof p === 'number' ? p : String(p)));
  for (let depth = asKeys.length; depth >= 0; depth--) {
    const at = depth === 0 ? file.doc.contents : file.doc.getIn(asKeys.slice(0, depth), true);
    let range: readonly number[] | null | undefined;
    if (keyOf !== undefined && depth === asKeys.length && isMap(at)) {
      const pair = at.items.find((p) => isScalar(p.key) && String(p.key.value) === keyOf);
      range = pair !== undefined && isScalar(pair.key) ? pair.key.range : undefined;
    }
    range ??= (at as { range?: readonly number[] } | null | undefined)?.range;
    if (range !== undefined && range !== null) {
      const { line, col } = file.lines.linePos(range[0]!);
      return `${file.name}:${line}:${col}`;
    }
  }
  return undefined;
}

/** Known keys of the object schema at a path, for "did you mean". */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  const unwrap = (n: unknown): unknown => {
    for (let i = 0; i < 10; i++) {
      const def = (n as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
      if (def === undefined) return n;
      if (def.innerType !== undefined) n = def.innerType;
      else if (def.type === 'pipe') n = def.in;
      else return n;
    }
    return n;
  };
  for (const seg of path) {
    const def = (unwrap(node) as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (typeof seg === 'number' && def.type === 'array') node = def.element;
    else if (def.type === 'object') node = (def.shape as Record<string, unknown>)[String(seg)];
    else return [];
    if (node === undefined) return [];
  }
  const def = (unwrap(node) as { _zod: { def: Record<string, unknown> } })._zod.def;
  return def.type === 'object' ? Object.keys(def.shape as object) : [];
}

function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length]!;
}

function suggestion(unknown: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = distance(unknown, k);
    if (d < bestScore) [best, bestScore] = [k, d];
  }
  return best !== undefined && bestScore <= Math.max(1, Math.floor(best.length / 3)) ? ` (did you mean ${best}?)` : '';
}

function where(ctx: ProblemContext, path: readonly PropertyKey[], keyOf?: string): string {
  const full = keyOf === undefined ? path : [...path, keyOf];
  const origin = ctx.origins.get(full.map(String).join('.'));
  if (origin !== undefined) return ` (from ${origin})`;
  if (ctx.file === undefined) return '';
  const loc = locate(ctx.file, path, keyOf);
  return loc === undefined ? '' : ` (${loc})`;
}

/** One line per problem; an issue about several unknown keys gives one line per key. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], ctx: ProblemContext): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(ctx.schema, issue.path);
      for (const key of issue.keys) {
        lines.push(`${formatPath([...issue.path, key])}: unknown key${suggestion(key, known)}${where(ctx, issue.path, key)}`);
      }
      continue;
    }
    lines.push(`${formatPath(issue.path)}: ${cleanMessage(issue)}${where(ctx, issue.path)}`);
  }
  return lines;
}

export const CONFIG_INVALID = 'CONFIG_INVALID';

export function configError(source: string, problems: readonly string[]): HoldfastError {
  return new HoldfastError(CONFIG_INVALID, `invalid configuration (${source}): ${problems.length} problem(s)`, {
    details: { source, problems: [...problems] },
  });
}

/** The problems carried by a CONFIG_INVALID error; undefined for any other error. */
export function configProblems(err: unknown): { source: string; problems: string[] } | undefined {
  if (!isHoldfastError(err, CONFIG_INVALID)) return undefined;
  const d = err.details as { source?: string; problems?: string[] } | undefined;
  return { source: d?.source ?? 'config', problems: d?.problems ?? [err.message] };
}

/** The text printed on stderr for a bad config: a header, then every problem on its own line. */
export function formatConfigError(err: unknown): string | undefined {
  const p = configProblems(err);
  if (p === undefined) return undefined;
  const n = p.problems.length;
  return [`holdfast: invalid configuration (${p.source}), ${n} problem${n === 1 ? '' : 's'}:`, ...p.problems.map((l) => `  ${l}`)].join('\n');
}
