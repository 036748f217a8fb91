/**
 * Layering of holdfast (docs: /work/shared ARCHITECTURE, README "Layers"): imports point
 * only downward. app > platform > broker > codec, resilience, observability, ports, errors.
 * adapters implement ports and may use only ports, codec, errors and observability.
 * Type-only imports count too (tsPreCompilationDeps): a type is a dependency.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'foundation-imports-upward',
      comment: 'codec, errors, ports, resilience and observability must not import broker, platform, app or adapters.',
      severity: 'error',
      from: { path: '^src/(codec|errors|ports|resilience|observability)/' },
      to: { path: '^src/(broker|platform|app|adapters)/' },
    },
    {
      name: 'broker-imports-upward',
      comment: 'The broker sees the platform only through hooks (src/broker/hooks.ts) that the app wires in.',
      severity: 'error',
      from: { path: '^src/broker/' },
      to: { path: '^src/(platform|app|adapters)/' },
    },
    {
      name: 'platform-imports-app',
      comment: 'The platform must not depend on the composition root.',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/(app|adapters)/' },
    },
    {
      name: 'adapters-beyond-ports',
      comment: 'Adapters implement ports: they may import ports, codec, errors, observability and resilience (no MQTT knowledge) only.',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/', pathNot: '^src/(adapters|ports|codec|errors|observability|resilience)/' },
    },
    {
      name: 'channel-imports-transport',
      comment: 'The channel is a pure state machine: no sockets, so nothing from transport.',
      severity: 'error',
      from: { path: '^src/broker/channel/' },
      to: { path: '^src/broker/transport/' },
    },
    {
      name: 'no-circular',
      comment:
        'Circular imports make start-up order and testing fragile. A cycle closed by an `import type` ' +
        'is erased at compile time and allowed (e.g. a helper module typing its owner).',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'src-imports-dev-dependency',
      comment: 'Code in src/ runs in production, where devDependencies are not installed.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a broken build.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
