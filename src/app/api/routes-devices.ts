/** /api/devices: the registry (create, list with filters and a cursor, show, change, delete, disable/enable). */
import type { Platform } from '../../platform/contracts.js';
import type { DeviceQuery } from '../../ports/platform-store.js';
import { defineRoute, type AnyRoute } from './route.js';
import { Device, DevicePage, DeviceParams, DevicePatchBody, DeviceView, ListDevicesQuery, NewDeviceBody, ErrorBody } from './schemas.js';

const notFound = { description: 'DEVICE_NOT_FOUND', schema: ErrorBody };

export function deviceRoutes(platform: Platform): AnyRoute[] {
  const { devices } = platform;
  return [
    defineRoute({
      method: 'POST',
      url: '/api/devices',
      operationId: 'createDevice',
      tag: 'devices',
      summary: 'Register a device',
      description: 'Creates the device record. Give it a credential next (POST /api/devices/{id}/secrets or /certificates).',
      body: NewDeviceBody,
      responses: { 201: { description: 'Created', schema: Device }, 409: { description: 'DEVICE_EXISTS', schema: ErrorBody } },
      async handler({ body }) {
        const d = await devices.create(body);
        return { status: 201, body: d, headers: { location: `/api/devices/${encodeURIComponent(d.id)}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/devices',
      operationId: 'listDevices',
      tag: 'devices',
      summary: 'List devices (filters, cursor pagination, ordered by id)',
      query: ListDevicesQuery,
      responses: { 200: { description: 'A page; pass nextCursor as cursor for the next one', schema: DevicePage } },
      async handler({ query }) {
        const q: DeviceQuery = { limit: query.limit };
        if (query.type !== undefined) q.type = query.type;
        if (query.label !== undefined) q.labels = query.label;
        if (query.enabled !== undefined) q.enabled = query.enabled;
        if (query.presence !== undefined) q.presence = query.presence;
        if (query.cursor !== undefined) q.after = query.cursor;
        const p = await devices.list(q);
        return { status: 200, body: p.nextCursor === undefined ? { items: p.items } : { items: p.items, nextCursor: p.nextCursor } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/devices/:id',
      operationId: 'getDevice',
      tag: 'devices',
      summary: 'A device with its presence',
      params: DeviceParams,
      responses: { 200: { description: 'The device', schema: DeviceView }, 404: notFound },
      async handler({ params }) {
        return { status: 200, body: await devices.get(params.id) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/devices/:id',
      operationId: 'updateDevice',
      tag: 'devices',
      summary: 'Change type, labels (replaced as a whole), metadata (replaced) or enabled',
      description: 'enabled: false kicks a connected device, as POST .../disable does.',
      params: DeviceParams,
      body: DevicePatchBody,
      responses: { 200: { description: 'The device after the change', schema: Device }, 404: notFound },
      async handler({ params, body }) {
        const { enabled, ...rest } = body;
        let d = Object.keys(rest).length > 0 ? await devices.update(params.id, rest) : undefined;
        // Enabling and disabling go through setEnabled, which kicks (contracts.ts).
        if (enabled !== undefined) d = await devices.setEnabled(params.id, enabled);
        return { status: 200, body: d };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/devices/:id',
      operationId: 'deleteDevice',
      tag: 'devices',
      summary: 'Delete a device with its credentials, shadow and commands',
      params: DeviceParams,
      responses: { 204: { description: 'Deleted' }, 404: notFound },
      async handler({ params }) {
        await devices.delete(params.id);
        return { status: 204 };
      },
    }),
    ...(['disable', 'enable'] as const).map((what) =>
      defineRoute({
        method: 'POST',
        url: `/api/devices/:id/${what}`,
        operationId: `${what}Device`,
        tag: 'devices',
        summary: what === 'disable' ? 'Disable: kicks the device if connected and refuses its CONNECTs' : 'Enable again',
        params: DeviceParams,
        responses: { 200: { description: 'The device', schema: Device }, 404: notFound },
        async handler({ params }) {
          return { status: 200, body: await devices.setEnabled(params.id, what === 'enable') };
        },
      }),
    ),
  ];
}
