export { CommandServiceImpl, type CommandBroker, type CommandConfig, type CommandServiceOptions } from './command-service.js';
export { FINAL_STATES, OPEN_STATES, isFinal } from './command-records.js';
