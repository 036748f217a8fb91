export { configSchema, type HoldfastConfig, type HoldfastConfigInput } from './schema.js';
export { loadConfig, deepMerge, type LoadConfigOptions, type LoadedConfig } from './load.js';
export { TWINS, twinFor, configFileFrom, convertTwinValue, type Twin, type FlagValues, type EnvValues } from './sources.js';
export { configError, configProblems, formatConfigError, formatPath, CONFIG_INVALID } from './problems.js';
export { toRuntimeConfig, toBrokerConfig, toListenersConfig, type RuntimeConfig } from './to-runtime.js';
export { renderConfigDocs, configKeyDocs, type ConfigKeyDoc } from './docs.js';
