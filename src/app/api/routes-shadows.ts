/** /api/devices/{id}/shadow: the device shadow (desired / reported / delta), desired updates, history. */
import type { Platform } from '../../platform/contracts.js';
import { defineRoute, type AnyRoute } from './route.js';
import { DeviceParams, ErrorBody, HistoryQuery, itemsOf, Shadow, ShadowChange, UpdateDesiredBody } from './schemas.js';

const deviceNotFound = { description: 'DEVICE_NOT_FOUND', schema: ErrorBody };

export function shadowRoutes(platform: Platform): AnyRoute[] {
  const { shadows } = platform;
  return [
    defineRoute({
      method: 'GET',
      url: '/api/devices/:id/shadow',
      operationId: 'getShadow',
      tag: 'shadows',
      summary: 'The shadow: desired, reported, delta, version, per-key timestamps',
      params: DeviceParams,
      responses: { 200: { description: 'The shadow document', schema: Shadow }, 404: deviceNotFound },
      async handler({ params }) {
        return { status: 200, body: await shadows.get(params.id) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/devices/:id/shadow/desired',
      operationId: 'updateDesired',
      tag: 'shadows',
      summary: 'Merge into desired (null deletes a key); the delta goes to the device',
      description:
        'With version, the update applies only if the shadow is at that version (409 SHADOW_VERSION_MISMATCH otherwise). The device gets the new delta on $holdfast/devices/{id}/shadow/delta.',
      params: DeviceParams,
      body: UpdateDesiredBody,
      responses: {
        200: { description: 'The shadow after the update', schema: Shadow },
        404: deviceNotFound,
        409: { description: 'SHADOW_VERSION_MISMATCH', schema: ErrorBody },
        413: { description: 'SHADOW_TOO_LARGE (or the body is over the size limit: PAYLOAD_TOO_LARGE)', schema: ErrorBody },
      },
      async handler({ params, body }) {
        return { status: 200, body: await shadows.updateDesired(params.id, body.desired, body.version, 'api') };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/devices/:id/shadow/history',
      operationId: 'shadowHistory',
      tag: 'shadows',
      summary: 'The last changes of the shadow, newest first',
      params: DeviceParams,
      query: HistoryQuery,
      responses: { 200: { description: 'Changes', schema: itemsOf(ShadowChange) }, 404: deviceNotFound },
      async handler({ params, query }) {
        return { status: 200, body: { items: await shadows.history(params.id, query.limit) } };
      },
    }),
  ];
}
