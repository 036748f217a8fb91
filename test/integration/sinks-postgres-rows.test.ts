/**
 * The PostgreSQL sink's pure parts (no server): the INSERT statement, the row values
 * (payload_text / payload_json decisions) and the SQLSTATE classification.
 */
import { describe, expect, it } from 'vitest';
import { classifyPgError, insertSql, jsonText, payloadText, quoteIdent } from '../../src/adapters/northbound/postgres/index.js';
import { resolvePgSinkOptions } from '../../src/adapters/northbound/postgres/index.js';

const table = { schema: 'tele"m', table: 'msgs', textColumn: true, jsonColumn: false };

describe('PostgreSQL sink rows', () => {
  it('one multi-row INSERT with ON CONFLICT (message_id) DO NOTHING, identifiers quoted', () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(insertSql(table, 2)).toBe(
      'INSERT INTO "tele""m"."msgs" (message_id, topic, client_id, qos, payload, payload_text, created_at) ' +
        'VALUES ($1,$2,$3,$4,$5,$6,$7),($8,$9,$10,$11,$12,$13,$14) ON CONFLICT (message_id) DO NOTHING',
    );
  });

  it('payload_text: UTF-8 without NUL; payload_json: JSON that jsonb accepts', () => {
    expect(payloadText(Buffer.from('héllo'))).toBe('héllo');
    expect(payloadText(Buffer.from([0xc3, 0x28]))).toBeNull(); // invalid UTF-8
    expect(payloadText(Buffer.from('a\u0000b'))).toBeNull();
    expect(jsonText('{"a":1}')).toBe('{"a":1}');
    expect(jsonText(' [1,2] ')).toBe(' [1,2] ');
    expect(jsonText('hello')).toBeNull();
    expect(jsonText('{"a":')).toBeNull();
    expect(jsonText('{"a":"\\u0000"}')).toBeNull();
    expect(jsonText('{"a":"\\ud83d\\ude00"}')).not.toBeNull(); // a surrogate pair is fine
    expect(jsonText('{"a":"\\ud83d"}')).toBeNull(); // an unpaired one is not
    expect(jsonText('{"a":"\\ude00"}')).toBeNull();
  });

  it('SQLSTATE classes: connection, auth, retry, row, table', () => {
    const e = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    expect(classifyPgError(e('ECONNREFUSED')).kind).toBe('connection');
    expect(classifyPgError(new Error('Connection terminated unexpectedly')).kind).toBe('connection');
    expect(classifyPgError(e('08006')).kind).toBe('connection');
    expect(classifyPgError(e('57P01')).kind).toBe('connection');
    expect(classifyPgError(e('28P01')).kind).toBe('auth');
    expect(classifyPgError(e('28000')).kind).toBe('auth');
    expect(classifyPgError(e('42501')).kind).toBe('auth');
    expect(classifyPgError(e('55P03')).kind).toBe('retry');
    expect(classifyPgError(e('57014')).kind).toBe('retry');
    expect(classifyPgError(e('40001')).kind).toBe('retry');
    expect(classifyPgError(e('53100')).kind).toBe('retry');
    expect(classifyPgError(e('22P02')).kind).toBe('row');
    expect(classifyPgError(e('23514')).kind).toBe('row');
    expect(classifyPgError(e('54000')).kind).toBe('row');
    expect(classifyPgError(e('42703')).kind).toBe('table');
    expect(classifyPgError(e('42P01')).kind).toBe('table');
  });

  it('options: defaults and refusals', () => {
    expect(resolvePgSinkOptions({ name: 'p' })).toMatchObject({ schema: 'public', table: 'holdfast_messages', poolMax: 4, createTable: false });
    expect(() => resolvePgSinkOptions({ name: 'p', table: 'bad name' })).toThrow(/PostgreSQL sink options: table/);
    expect(() => resolvePgSinkOptions({ name: 'p', maxRowsPerStatement: 9000 })).toThrow(/maxRowsPerStatement/);
  });
});
