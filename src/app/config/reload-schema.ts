/**
 * The `config:` section of the config file: how holdfast notices that its config file
 * changed (hot reload, issue 8; docs/operations.md "Reloading the configuration").
 */
import { z } from 'zod';

export const reloadConfig = z.strictObject({
  watch: z.boolean()
    .default(true)
    .describe('Reload when the config file changes (the directory is watched, so editors that replace the file and Kubernetes ConfigMap updates are seen). SIGHUP and POST /api/config/reload work either way.'),
  watchDebounceMs: z.int().min(0).max(600_000)
    .default(500)
    .describe('Quiet time after the last change of the file before it is read; an empty file is ignored (a write still in progress).'),
});
