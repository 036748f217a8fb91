/**
 * How the app stops the broker (issue 8): the shutdown section of the config as broker
 * close options, and the handles a stop can pass to a successor process.
 */
import type { Server as NetServer } from 'node:net';
import type { BrokerCloseOptions } from '../../broker/broker.js';
import type { InheritedListener } from '../../broker/transport/listeners-api.js';
import type { HoldfastConfig } from '../config/index.js';
import { drainTimeoutOf } from '../config/lifecycle-schema.js';

export type HandoverName = 'mqtt' | 'ws' | 'tls' | 'http';

/** Listening sockets taken over from the process before, by listener. */
export type InheritedHandles = Partial<Record<HandoverName, InheritedListener>>;

/** This process's listening sockets, by listener (what a restart hands over). */
export type ListeningServers = Partial<Record<HandoverName, NetServer>>;

export function brokerCloseOptions(s: HoldfastConfig['shutdown'], signal: AbortSignal): BrokerCloseOptions {
  return {
    drainTimeoutMs: drainTimeoutOf(s),
    wills: s.wills,
    signal,
    ...(s.serverReference !== undefined ? { serverReference: s.serverReference } : {}),
  };
}
