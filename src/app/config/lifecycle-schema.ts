/**
 * The `shutdown:`, `restart:` and `supervise:` sections of the config file (issue 8):
 * graceful stop, zero-downtime restart (handle passing) and the crash supervisor.
 * docs/operations.md explains them; docs/configuration.md is generated from them.
 */
import { z } from 'zod';

const positive = (max: number) => z.int().min(1).max(max);

export const shutdown = z
  .strictObject({
    timeoutMs: positive(3_600_000)
      .default(30_000)
      .describe('Longest graceful stop after SIGTERM/SIGINT: clients are drained, the rest is cut at drainTimeoutMs and the process exits 0; only a stop that still has not finished here exits with code 1.'),
    drainTimeoutMs: positive(3_600_000)
      .optional()
      .meta({
        description: 'How long clients get to finish their in-flight work (publishes being acknowledged) before the rest is cut and logged; must be below timeoutMs.',
        defaultText: '3/4 of timeoutMs',
      }),
    serverReference: z.string().min(1).max(65_535)
      .optional()
      .meta({
        description: 'Sent as Server Reference (MQTT5 3.14.2.2.5) in the DISCONNECT 0x8B that v5 clients get at a stop or restart, e.g. "mqtt-2.example.com:1883".',
        defaultText: 'none',
      }),
    wills: z.enum(['session-end', 'never', 'always'])
      .default('session-end')
      .describe('Wills at a server stop: session-end fires those of sessions that end now (clean sessions) and keeps the rest pending (they fire after the restart if the client does not return); never fires none now; always fires every will as on a network failure.'),
  })
  .superRefine((s, ctx) => {
    if (s.drainTimeoutMs !== undefined && s.drainTimeoutMs >= s.timeoutMs) {
      ctx.addIssue({ code: 'custom', path: ['drainTimeoutMs'], message: `must be below shutdown.timeoutMs (${s.timeoutMs})` });
    }
  });

export const restart = z.strictObject({
  readyTimeoutMs: positive(3_600_000)
    .default(30_000)
    .describe('`holdfast restart` / SIGUSR2: how long the new process may take to become ready; past it (or when it fails) it is stopped and the old one keeps serving.'),
});

export const supervise = z.strictObject({
  initialBackoffMs: positive(3_600_000).default(500).describe('`holdfast start --supervise`: wait before the first restart of a crashed broker; doubles with each crash in a row.'),
  maxBackoffMs: positive(3_600_000).default(30_000).describe('Longest wait between restarts of a broker that keeps crashing.'),
  stableAfterMs: positive(86_400_000).default(60_000).describe('A broker that ran this long before crashing is restarted after initialBackoffMs again.'),
});

/** The drain deadline of a graceful stop: shutdown.drainTimeoutMs, or 3/4 of shutdown.timeoutMs. */
export function drainTimeoutOf(s: { timeoutMs: number; drainTimeoutMs?: number | undefined }): number {
  return s.drainTimeoutMs ?? Math.floor((s.timeoutMs * 3) / 4);
}
