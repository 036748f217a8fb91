/** /api/devices/{id}/commands and /api/commands/{id}: the per-device command queue (RPC), with long-polling. */
import { z } from 'zod';
import type { Platform } from '../../platform/contracts.js';
import type { CommandRecord } from '../../ports/platform-store.js';
import { defineRoute, type AnyRoute } from './route.js';
import { Command, CommandParams, DeviceParams, ErrorBody, itemsOf, ListCommandsQuery, SendCommandBody, waitQuery } from './schemas.js';

const FINAL = new Set(['acked', 'failed', 'expired']);

export function commandRoutes(platform: Platform, maxWaitMs: number): AnyRoute[] {
  const { commands } = platform;
  const WaitQuery = z.strictObject({ waitMs: waitQuery(maxWaitMs) });
  /** The record now, or once final, or when waitMs has passed (then the record as it is). */
  const settle = async (c: CommandRecord, waitMs: number | undefined, signal: AbortSignal): Promise<CommandRecord> =>
    waitMs === undefined || waitMs === 0 || FINAL.has(c.state) ? c : commands.wait(c.id, waitMs, signal);
  return [
    defineRoute({
      method: 'POST',
      url: '/api/devices/:id/commands',
      operationId: 'sendCommand',
      tag: 'commands',
      summary: "Queue a command on the device's ordered queue",
      description:
        'Delivered in order on $holdfast/devices/{id}/commands (QoS 1); states queued -> sent -> acked | failed | expired. With ?waitMs the answer waits for a final state (at most waitMs).',
      params: DeviceParams,
      query: WaitQuery,
      body: SendCommandBody,
      responses: {
        201: { description: 'The command (final if it settled within waitMs)', schema: Command },
        404: { description: 'DEVICE_NOT_FOUND', schema: ErrorBody },
        429: { description: 'COMMAND_QUEUE_FULL', schema: ErrorBody },
      },
      async handler({ params, query, body, signal }) {
        const c = await commands.send(params.id, body);
        return { status: 201, body: await settle(c, query.waitMs, signal), headers: { location: `/api/commands/${encodeURIComponent(c.id)}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/devices/:id/commands',
      operationId: 'listCommands',
      tag: 'commands',
      summary: "A device's commands in queue order",
      params: DeviceParams,
      query: ListCommandsQuery,
      responses: { 200: { description: 'Commands', schema: itemsOf(Command) }, 404: { description: 'DEVICE_NOT_FOUND', schema: ErrorBody } },
      async handler({ params, query }) {
        return { status: 200, body: { items: await commands.list(params.id, query.state, query.limit) } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/commands/:id',
      operationId: 'getCommand',
      tag: 'commands',
      summary: 'A command; with ?waitMs, long-polls until it is final (acked, failed, expired) or waitMs passes',
      params: CommandParams,
      query: WaitQuery,
      responses: { 200: { description: 'The command', schema: Command }, 404: { description: 'COMMAND_NOT_FOUND', schema: ErrorBody } },
      async handler({ params, query, signal }) {
        return { status: 200, body: await settle(await commands.get(params.id), query.waitMs, signal) };
      },
    }),
  ];
}
