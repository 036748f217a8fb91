/**
 * Routes as the engine uses them: the topic filter, the sink, the optional device match
 * (type and labels, looked up through the platform's `deviceInfo`) and the compiled
 * payload template.
 */
import { topicMatches } from '../../broker/routing/index.js';
import type { RouteConfig } from './bridges-config.js';
import { compileTemplate, type PayloadTemplate } from './payload-template.js';
import type { DeviceInfo } from './types.js';

export interface CompiledRoute {
  readonly filter: string;
  readonly sink: string;
  readonly template: PayloadTemplate | undefined;
  readonly deviceType: string | undefined;
  readonly labels: ReadonlyArray<readonly [string, string]>;
}

export function compileRoutes(routes: readonly RouteConfig[]): CompiledRoute[] {
  return routes.map((r) => ({
    filter: r.filter,
    sink: r.sink,
    template: r.template === undefined ? undefined : compileTemplate(r.template),
    deviceType: r.deviceType,
    labels: Object.entries(r.labels ?? {}),
  }));
}

/** Whether the publisher satisfies the route's device conditions (none: everyone does). */
export function deviceMatches(route: CompiledRoute, clientId: string | undefined, deviceInfo: DeviceInfo | undefined): boolean {
  if (route.deviceType === undefined && route.labels.length === 0) return true;
  if (clientId === undefined || deviceInfo === undefined) return false;
  let facts;
  try {
    facts = deviceInfo(clientId);
  } catch {
    return false; // the registry failing must not break the publish path
  }
  if (facts === undefined) return false;
  if (route.deviceType !== undefined && facts.type !== route.deviceType) return false;
  for (const [k, v] of route.labels) if (facts.labels[k] !== v) return false;
  return true;
}

/** Whether a publish of `topic` by `clientId` would be routed by `route`. */
export function routeMatches(route: CompiledRoute, topic: string, clientId: string | undefined, deviceInfo: DeviceInfo | undefined): boolean {
  return topicMatches(route.filter, topic) && deviceMatches(route, clientId, deviceInfo);
}
