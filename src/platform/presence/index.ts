export { PresenceTracker, type PresenceEvent, type PresenceState, type PresenceTrackerDeps } from './presence-tracker.js';
export { PresenceWriter, type PresenceWrite } from './presence-writer.js';
export { presenceTopic } from './presence-topic.js';
