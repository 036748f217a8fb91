export { createDeviceAcl, type DeviceAclHooks, type DeviceAclOptions } from './device-acl.js';
export { concreteRules, validateTemplates, type AclTemplate, type ConcreteRule } from './templates.js';
export {
  DEVICE_INPUT_SUFFIXES,
  SERVER_ONLY_SUFFIXES,
  deviceInputTopics,
  deviceOwnFilter,
  isServerOnlyTopic,
} from './reserved-topics.js';
