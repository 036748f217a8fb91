/**
 * The settings that differ between two configs, as dotted key paths ("mqtt.maxKeepAliveS",
 * "acl.rules"). Lists are compared whole: a changed rule reports "acl.rules".
 */

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function changedPaths(before: unknown, after: unknown, prefix = ''): string[] {
  if (isPlain(before) && isPlain(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    const out: string[] = [];
    for (const key of [...keys].sort()) out.push(...changedPaths(before[key], after[key], prefix === '' ? key : `${prefix}.${key}`));
    return out;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix === '' ? '(top level)' : prefix];
}

/** Whether `path` is `prefix` or lies under it ("acl.rules" is under "acl"). */
export function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`);
}

/** The pseudo-setting for the contents of the TLS files (a certificate renewed under the same name). */
export const TLS_FILES_PATH = 'listeners.tls.files';
