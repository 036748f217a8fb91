// The three brokers under test: how to start each one pinned to core 0 on a free port.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandOutput, freePort, has, sleep, waitPort } from './sys.mjs';

const MOSQUITTO = '/usr/sbin/mosquitto';

function readJson(p) {
  try {
    return JSON.parse(fs.readFileSync(p, 'utf8'));
  } catch {
    return null;
  }
}

export function brokerDefs(repo) {
  return {
    holdfast: {
      name: 'holdfast',
      version() {
        const pkg = readJson(path.join(repo, 'package.json'));
        const rev = commandOutput('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']);
        return `${pkg?.version ?? '?'} (git ${rev ?? '?'})`;
      },
      /** null when it cannot run at all, with the reason. */
      unavailable() {
        const bin = path.join(repo, 'bin/holdfast.js');
        if (!fs.existsSync(bin)) return 'bin/holdfast.js not found';
        if (!fs.existsSync(path.join(repo, 'dist/app/cli.js'))) return 'dist/app/cli.js missing (run npm run build)';
        return null;
      },
      /**
       * `variant.durability` (persist scenarios): a config file with that store durability;
       * `variant.settings` (storm-admission): a config file with these dotted keys;
       * `variant.configText` (platform): this YAML as the config file.
       */
      command(port, dir, variant = {}) {
        const args = [
          path.join(repo, 'bin/holdfast.js'), 'start',
          '--mqtt-port', String(port), '--ws-port', '0', '--http-port', '0', '--data-dir', dir,
        ];
        // Persist: queues unbounded in practice (the default 10,000 would drop the oldest of a
        // long offline backlog: that would measure the queue limit, not the store).
        const text = variant.configText ? variant.configText
          : variant.durability ? holdfastPersistConfig(variant.durability)
          : variant.settings && Object.keys(variant.settings).length ? holdfastConfigYaml(variant.settings) : null;
        if (text) {
          const conf = path.join(dir, 'holdfast.yaml');
          fs.writeFileSync(conf, `${text}\n`);
          args.push('--config', conf);
        }
        return { cmd: process.execPath, args };
      },
    },
    mosquitto: {
      name: 'mosquitto',
      version() {
        const out = commandOutput(MOSQUITTO, ['-h']) || '';
        const m = /mosquitto version (\S+)/.exec(out);
        return m ? m[1] : 'unknown';
      },
      unavailable() {
        return fs.existsSync(MOSQUITTO) ? null : `${MOSQUITTO} not found`;
      },
      /** `variant.persistence` (persist scenarios): persistence on, default autosave, unbounded queues. */
      command(port, dir, variant = {}) {
        // Stock defaults otherwise (persistence off, max_inflight 20, max_queued 1000):
        // those are what the issue's reference numbers describe.
        const conf = path.join(dir, 'mosquitto.conf');
        let text = `listener ${port} 127.0.0.1\nallow_anonymous true\n`;
        if (variant.persistence) text += `${mosquittoPersistConfig(dir)}\n`;
        fs.writeFileSync(conf, text);
        return { cmd: MOSQUITTO, args: ['-c', conf] };
      },
    },
    aedes: {
      name: 'aedes',
      version() {
        return readJson(path.join(repo, 'node_modules/aedes/package.json'))?.version ?? 'not installed';
      },
      unavailable() {
        return fs.existsSync(path.join(repo, 'node_modules/aedes/package.json')) ? null : 'aedes not installed';
      },
      command(port) {
        return {
          cmd: process.execPath,
          args: [path.join(repo, 'bench/brokers/aedes-server.mjs'), '--port', String(port)],
        };
      },
    },
  };
}

/** The holdfast settings of the persist scenarios (dotted keys; also quoted in BENCHMARKS.md). */
export function holdfastPersistSettings(durability) {
  return { 'session.maxQueuedMessages': 100000000, 'store.kind': 'sqlite', 'store.durability': durability };
}

/** The same as a YAML config file. */
export function holdfastPersistConfig(durability) {
  return holdfastConfigYaml(holdfastPersistSettings(durability));
}

/** `{ 'section.key': value }` (one level of sections, keys of a section together) as a YAML config file. */
export function holdfastConfigYaml(settings) {
  const out = [];
  let section = '';
  for (const [key, value] of Object.entries(settings)) {
    const [top, leaf] = key.split('.');
    if (top !== section) out.push(`${(section = top)}:`);
    out.push(`  ${leaf}: ${value}`);
  }
  return out.join('\n');
}

/**
 * The Mosquitto settings of the persist scenarios: persistence on with the default
 * autosave_interval (1800 s, not set here) and no queue limit (the default 1,000 queued
 * messages per client would drop most of the offline backlog; 0 = no maximum).
 */
export function mosquittoPersistConfig(dir) {
  return ['persistence true', `persistence_location ${dir}/`, 'max_queued_messages 0'].join('\n');
}

/** Wrap a command: raise the fd limit, renice, pin to a core. exec keeps the pid. */
export function pinned(cmd, args, { core, nice, nofile = 20000 }) {
  const chain = [];
  if (nice) chain.push('nice', '-n', String(nice));
  if (has(core)) chain.push('taskset', '-c', String(core));
  chain.push(cmd, ...args);
  return {
    cmd: 'sh',
    args: ['-c', `ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, 'sh', ...chain],
  };
}

const live = new Set();
process.on('exit', () => {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

function tail(file, n = 15) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/**
 * Start a broker; resolves to a handle or throws Error(reason).
 * handle: { name, pid, port, dir, log, alive(), exitInfo(), exited(), logTail(), stop() }
 * `dir`: reuse a data dir (a restart after a kill); `variant`: passed to def.command.
 */
export async function startBroker(def, { core = 0, nice = 0, readyTimeoutMs = 20000, dir: reuseDir, variant } = {}) {
  const why = def.unavailable();
  if (why) throw new Error(why);
  const port = await freePort();
  const dir = reuseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `bench-${def.name}-`));
  fs.chmodSync(dir, 0o777); // mosquitto drops root privileges
  const { cmd, args } = def.command(port, dir, variant);
  const w = pinned(cmd, args, { core, nice });
  const log = path.join(dir, 'broker.log');
  const fd = fs.openSync(log, 'a');
  const child = spawn(w.cmd, w.args, { stdio: ['ignore', fd, fd], cwd: dir });
  fs.closeSync(fd);
  live.add(child);
  let exit = null;
  const exited = new Promise((r) => child.once('exit', (code, signal) => {
    exit = { code, signal };
    live.delete(child);
    r();
  }));
  const handle = {
    name: def.name,
    pid: child.pid,
    port,
    dir,
    log,
    alive: () => exit === null,
    exitInfo: () => exit,
    exited: () => exited,
    logTail: (n) => tail(log, n),
    async stop() {
      if (exit) return exit;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(4000)]);
      if (!exit) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(2000)]);
      }
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        /* keep */
      }
      return exit;
    },
  };
  const ok = await waitPort(port, '127.0.0.1', readyTimeoutMs, handle.alive);
  if (!ok) {
    const info = exit ? `exited (code ${exit.code}, signal ${exit.signal})` : `port ${port} not accepting after ${readyTimeoutMs} ms`;
    const t = tail(log, 5);
    await handle.stop();
    throw new Error(`${info}${t ? `: ${t.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`);
  }
  await sleep(300); // let it finish start-up work before we sample RSS/CPU
  return handle;
}

/** holdfast's HTTP port, from its "listening" log line (it listens after the MQTT port opens); null if none within timeoutMs. */
export async function holdfastHttpPort(handle, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && handle.alive()) {
    let text = '';
    try {
      text = fs.readFileSync(handle.log, 'utf8');
    } catch {
      /* not written yet */
    }
    const m = /"ports":\{[^}]*"http":(\d+)/.exec(text);
    if (m) return Number(m[1]);
    await sleep(50);
  }
  return null;
}
