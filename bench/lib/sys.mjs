// Small Linux helpers for the bench runner: /proc readers, ports, sysctl.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** true unless null or undefined */
export const has = (v) => v !== null && v !== undefined;

let clkTck = 0;
export function clockTicks() {
  if (!clkTck) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** VmRSS of a process in KiB, or null when it is gone. */
export function readRssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** user+system CPU seconds of a process (all its threads), or null when it is gone. */
export function readCpuSeconds(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm) ": state=0 ... utime=11 stime=12
    return (Number(f[11]) + Number(f[12])) / clockTicks();
  } catch {
    return null;
  }
}

/** Per-core busy and total seconds from /proc/stat: { cpu0: {busy,total}, ... }. */
export function readCoreTimes() {
  const out = {};
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].split(/\s+/).map(Number);
    const idle = v[3] + (v[4] || 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[m[1]] = { busy: (total - idle) / clockTicks(), irq: (v[5] + v[6]) / clockTicks(), total: total / clockTicks() };
  }
  return out;
}

/** Selected TcpExt counters (listen queue overflows etc.). */
export function readTcpExt() {
  try {
    const lines = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i++) {
      if (!lines[i].startsWith('TcpExt:')) continue;
      const k = lines[i].split(/\s+/).slice(1);
      const v = lines[i + 1].split(/\s+/).slice(1).map(Number);
      const all = Object.fromEntries(k.map((name, j) => [name, v[j]]));
      return {
        ListenOverflows: all.ListenOverflows ?? null,
        ListenDrops: all.ListenDrops ?? null,
        SyncookiesSent: all.SyncookiesSent ?? null,
      };
    }
  } catch {
    /* not Linux */
  }
  return {};
}

export function diffCounters(a, b) {
  const d = {};
  for (const k of Object.keys(b)) if (has(a[k]) && has(b[k])) d[k] = b[k] - a[k];
  return d;
}

export function loadAvg() {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return null;
  }
}

/** A port that was free a moment ago (bind 0, read, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function tryConnect(port, host) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

/** Wait until host:port accepts a TCP connection; false on deadline or if isAlive() turns false. */
export async function waitPort(port, host, timeoutMs, isAlive) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (isAlive && !isAlive()) return false;
    if (await tryConnect(port, host)) return true;
    await sleep(100);
  }
  return false;
}

function sysctlPath(name) {
  return `/proc/sys/${name.replace(/\./g, '/')}`;
}
export function sysctlGet(name) {
  try {
    return fs.readFileSync(sysctlPath(name), 'utf8').trim();
  } catch {
    return null;
  }
}
/** Try to set a sysctl; returns { before, after, ok, error? }. */
export function sysctlTrySet(name, value) {
  const before = sysctlGet(name);
  let error;
  try {
    fs.writeFileSync(sysctlPath(name), String(value));
  } catch (e) {
    error = e.code || String(e);
  }
  const after = sysctlGet(name);
  return { before, after, ok: after === String(value), ...(error ? { error } : {}) };
}

export function commandOutput(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    return ((e.stdout || '') + (e.stderr || '')).trim() || null;
  }
}

export function hasCommand(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
