/**
 * A will message waiting to be published (MQTT-3.1.2-8, MQTT5 3.1.3.2.2 Will Delay):
 * the stored form is the working form.
 */
export type { StoredWill as PendingWill } from '../../ports/store.js';
