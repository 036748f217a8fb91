import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configKeyDocs, loadConfig, renderConfigDocs } from '../../../src/app/config/index.js';

function leafKeys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafKeys(v, prefix === '' ? k : `${prefix}.${k}`));
}

describe('docs/configuration.md', () => {
  it('is up to date with the schema (regenerate: npm run build && node scripts/gen-config-docs.mjs)', () => {
    const onDisk = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderConfigDocs());
  });

  it('documents every key of the validated config with a default and a description', async () => {
    const { config } = await loadConfig();
    const documented = new Map(configKeyDocs().map((d) => [d.key, d]));
    for (const key of leafKeys(config)) {
      const doc = documented.get(key);
      expect(doc, key).toBeDefined();
      expect(doc!.default, key).not.toBe('');
      expect(doc!.description, key).not.toBe('');
    }
    // Optional keys without a value in the default config are documented too.
    for (const key of ['auth.allowAnonymous', 'listeners.tls.certFile', 'listeners.tls.keyFile', 'listeners.tls.caFile', 'acl.rules[].clientId']) {
      expect(documented.get(key)?.default, key).toBeTruthy();
    }
  });
});
