/** `$holdfast/devices/{id}/presence`: presence events, retained, QoS 1 (platform brief). */
export function presenceTopic(deviceId: string): string {
  return `$holdfast/devices/${deviceId}/presence`;
}
