/** The simulator's periodic summary: one line of text, or one JSON object per line (--json). */
import type { FleetStats } from './fleet.js';

/** Rates over the interval since `prev`. */
export function summaryLine(s: FleetStats, prev: FleetStats | undefined): string {
  const dt = prev === undefined ? s.elapsedMs / 1000 : (s.elapsedMs - prev.elapsedMs) / 1000;
  const rate = (now: number, before: number | undefined): string => (dt > 0 ? `${Math.round((now - (before ?? 0)) / dt)}/s` : '-');
  const failures = Object.entries(s.failuresByReason)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([why, n]) => `${why} x${n}`)
    .join(', ');
  return (
    `[${(s.elapsedMs / 1000).toFixed(1)}s] connected ${s.connected}/${s.devices}` +
    ` (connects ${s.connects}, ${rate(s.connects, prev?.connects)}; connecting ${s.connecting}, waiting to retry ${s.waiting})` +
    ` | failed connects ${s.connectFailures}${failures === '' ? '' : ` (${failures})`} | lost ${s.connectionsLost}` +
    ` | telemetry ${s.telemetrySent} (${rate(s.telemetrySent, prev?.telemetrySent)}${s.telemetrySkipped > 0 ? `, ${s.telemetrySkipped} skipped` : ''})` +
    ` | commands ${s.commandsAnswered}${s.commandsIgnored > 0 ? ` (+${s.commandsIgnored} ignored)` : ''} | deltas ${s.deltasApplied}` +
    (s.allConnectedAfterMs === undefined ? '' : ` | all connected after ${(s.allConnectedAfterMs / 1000).toFixed(1)} s`)
  );
}

export function summaryJson(s: FleetStats, kind: 'progress' | 'final'): string {
  return JSON.stringify({ kind, ...s });
}
