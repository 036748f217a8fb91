/**
 * The platform's reserved topics under `$holdfast/devices/{id}/` (platform brief):
 * - device inputs, the only `$holdfast/...` topics a device may publish, and only its own:
 *   shadow/update, shadow/get, commands/response;
 * - server outputs, which no client may publish (the server publishes them itself through
 *   publishFromServer, which the ACL never sees): presence, shadow/delta, the
 *   accepted/rejected answers, commands.
 */
export const RESERVED_ROOT = '$holdfast/';
export const DEVICES_PREFIX = '$holdfast/devices/';

export const DEVICE_INPUT_SUFFIXES = ['shadow/update', 'shadow/get', 'commands/response'] as const;

export const SERVER_ONLY_SUFFIXES: ReadonlySet<string> = new Set([
  'presence',
  'shadow/delta',
  'shadow/update/accepted',
  'shadow/update/rejected',
  'shadow/get/accepted',
  'shadow/get/rejected',
  'commands',
]);

/** True for `$holdfast/devices/{any id}/{server-only suffix}`. */
export function isServerOnlyTopic(topic: string): boolean {
  if (!topic.startsWith(DEVICES_PREFIX)) return false;
  const slash = topic.indexOf('/', DEVICES_PREFIX.length);
  if (slash <= DEVICES_PREFIX.length) return false;
  return SERVER_ONLY_SUFFIXES.has(topic.slice(slash + 1));
}

/** The three topics a device publishes to (own id). */
export function deviceInputTopics(deviceId: string): readonly string[] {
  return DEVICE_INPUT_SUFFIXES.map((s) => `${DEVICES_PREFIX}${deviceId}/${s}`);
}

/** The filter covering everything a device may subscribe to under $holdfast. */
export function deviceOwnFilter(deviceId: string): string {
  return `${DEVICES_PREFIX}${deviceId}/#`;
}
