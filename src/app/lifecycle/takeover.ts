/**
 * Zero-downtime restart, the new process's side (handover-protocol.ts): it warms up, takes
 * the listening sockets (connections wait in SocketGates, unread), waits until the old
 * process has closed the store, then starts on the inherited sockets and reports ready.
 */
import { Broker, warmUpConnectPath } from '../../broker/index.js';
import { MemoryStore } from '../../adapters/persistence/memory/index.js';
import { silentLogger, type Logger } from '../../observability/logger.js';
import { Server as NetServerClass, type Server as NetServer, type Socket } from 'node:net';
import { HoldfastError } from '../../errors/index.js';
import { toRuntimeConfig, type HoldfastConfig } from '../config/index.js';
import type { HandoverMessage } from './handover-protocol.js';
import { IpcInbox, type IpcPeer } from './ipc-inbox.js';
import { SocketGate } from './socket-gate.js';
import type { HandoverName, InheritedHandles } from './stop-options.js';

/** The old process drains for at most its shutdown.timeoutMs; this is only the backstop. */
const RELEASE_TIMEOUT_MS = 3_600_000;
const STEP_TIMEOUT_MS = 60_000;

export interface TakeoverChannel extends IpcPeer {
  send(m: HandoverMessage): boolean;
}

export interface TakenOver {
  /** The config to start with (warm-up already done). */
  config: HoldfastConfig;
  inherited: InheritedHandles;
}

/** The configured port of each listener (null: disabled), to decide which inherited sockets are used. */
function configuredPort(config: HoldfastConfig, name: HandoverName): number | null {
  const l = config.listeners;
  const p =
    name === 'mqtt' ? l.mqtt.port : name === 'ws' ? l.ws.port : name === 'http' ? config.http.port : l.tls.certFile !== undefined ? l.tls.port : null;
  return p === false ? null : p;
}

export async function takeOver(config: HoldfastConfig, logger: Logger, channel: TakeoverChannel, cwd?: string): Promise<TakenOver> {
  // A received server accepts from the moment it arrives (Node listens on the handle before
  // emitting the message). A connection accepted while the server has no 'connection'
  // listener is lost: open, unread, never answered nor closed (the client waits for its
  // CONNACK until its own timeout). So each server gets its gate in the very 'message'
  // event that delivers it, not once every handle has arrived.
  const gated = new Map<NetServer, SocketGate>();
  const gateOnArrival = (_m: unknown, handle?: NetServer | Socket): void => {
    if (handle instanceof NetServerClass && !gated.has(handle)) gated.set(handle, new SocketGate(handle));
  };
  channel.on('message', gateOnArrival);
  const inbox = new IpcInbox(channel);
  try {
    // Everything that can fail without the store fails here, while the old process still serves:
    // the runtime config reads the TLS files, token files and the like.
    const runtime = await toRuntimeConfig(config, cwd);
    const warmup = config.listeners.warmupConnections;
    if (warmup > 0) {
      const scratch = new Broker(runtime.broker, { store: new MemoryStore(), logger: silentLogger() });
      logger.info(await warmUpConnectPath(scratch, warmup), 'connect path warmed up');
    }
    channel.send({ hf: 'prepared' });
    const gates: InheritedHandles = {};
    const received = new Map<HandoverName, SocketGate>();
    for (;;) {
      const { m, handle } = await inbox.nextAny(STEP_TIMEOUT_MS, 'the listening sockets');
      if (m.hf === 'handles-sent') break;
      if (m.hf !== 'handle' || !(handle instanceof NetServerClass)) throw new HoldfastError('APP_RESTART_FAILED', `restart protocol: unexpected ${m.hf}`);
      received.set(m.name, gated.get(handle) ?? new SocketGate(handle));
    }
    for (const [name, gate] of received) {
      const want = configuredPort(config, name);
      if (want === null || (want !== 0 && want !== gate.port)) {
        // The new config moved or disabled this listener: it binds its own port.
        logger.info({ listener: name, inherited: gate.port, configured: want }, 'restart: listener port changed; not taking the old socket');
        await gate.close();
      } else gates[name] = gate;
    }
    channel.send({ hf: 'handles-taken' });
    logger.info({ listeners: Object.keys(gates) }, 'restart: sockets taken over; waiting for the old process to release the store');
    await inbox.next('released', RELEASE_TIMEOUT_MS).catch((err: unknown) => {
      // The old process died: its store is closed (released) all the same.
      logger.warn({ err: (err as Error).message }, 'restart: no release from the old process; starting anyway');
    });
    return { config: { ...config, listeners: { ...config.listeners, warmupConnections: 0 } }, inherited: gates };
  } catch (err) {
    // The old process keeps serving: stop accepting here and close what waits (the clients retry).
    await Promise.all([...gated.values()].map((g) => g.close()));
    throw err;
  } finally {
    channel.off('message', gateOnArrival);
    inbox.close();
  }
}

