export { PgSink, createPgSink, type PgSinkConfigLike, type PgSinkDeps, type PgSinkHealth, type PgSinkState } from './pg-sink.js';
export { pgSinkConfigSchema, pgSinkOptionsSchema, resolvePgSinkOptions, type PgSinkInput, type PgSinkOptions } from './pg-sink-options.js';
export { classifyPgError, type PgFailure, type PgFailureKind } from './pg-errors.js';
export { columnsOf, createTableSql, insertSql, jsonText, payloadText, qualifiedName, quoteIdent } from './pg-table.js';
