import { describe, expect, it } from 'vitest';
import { formatStartupError } from '../../../src/app/startup-errors.js';
import { configError } from '../../../src/app/config/index.js';
import { HoldfastError } from '../../../src/errors/index.js';

const inUse = (listener: string, port: number) =>
  new HoldfastError('TRANSPORT_ADDRESS_IN_USE', 'in use', { details: { listener, host: '0.0.0.0', port } });

describe('start-up errors: one line naming the port and the flag', () => {
  it.each([
    ['mqtt', 1883, 'holdfast: port 1883 is already in use (MQTT listener); choose another with --mqtt-port or HOLDFAST_MQTT_PORT'],
    ['ws', 8083, 'holdfast: port 8083 is already in use (WebSocket listener); choose another with --ws-port or HOLDFAST_WS_PORT'],
    ['tls', 8883, 'holdfast: port 8883 is already in use (TLS listener); choose another with --tls-port or HOLDFAST_TLS_PORT'],
    ['http', 8080, 'holdfast: port 8080 is already in use (HTTP server); choose another with --http-port or HOLDFAST_HTTP_PORT'],
  ])('%s listener', (listener, port, line) => {
    expect(formatStartupError(inUse(listener, port))).toBe(line);
  });

  it('a bare EADDRINUSE from listen() is attributed through the configured ports', () => {
    const err = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen', port: 8083, address: '::' });
    expect(formatStartupError(err, { mqtt: 1883, ws: 8083, http: 8080 })).toBe(
      'holdfast: port 8083 is already in use (WebSocket listener); choose another with --ws-port or HOLDFAST_WS_PORT',
    );
    // Wrapped as a cause, too.
    expect(formatStartupError(new Error('start failed', { cause: err }), { ws: 8083 })).toMatch(/^holdfast: port 8083 is already in use \(WebSocket listener\)/);
  });

  it('EACCES (privileged port) and EADDRNOTAVAIL (bad --bind)', () => {
    const eacces = Object.assign(new Error('x'), { code: 'EACCES', syscall: 'listen', port: 80 });
    expect(formatStartupError(eacces, { http: 80 })).toBe(
      'holdfast: not permitted to listen on port 80 (HTTP server) (ports below 1024 need privileges); choose another with --http-port or HOLDFAST_HTTP_PORT',
    );
    const notAvail = Object.assign(new Error('x'), { code: 'EADDRNOTAVAIL', syscall: 'listen', port: 1883, address: '10.9.9.9' });
    expect(formatStartupError(notAvail)).toBe(
      'holdfast: cannot listen on address 10.9.9.9: not an address of this machine; choose another with --bind or HOLDFAST_BIND',
    );
  });

  it('the transport\'s TRANSPORT_ADDRESS_FORBIDDEN (EACCES) names the listener and flag', () => {
    const cause = Object.assign(new Error('listen EACCES'), { code: 'EACCES', syscall: 'listen', port: 883 });
    const err = new HoldfastError('TRANSPORT_ADDRESS_FORBIDDEN', 'tls listener: port 883 is not allowed', {
      cause,
      details: { listener: 'tls', host: '0.0.0.0', port: 883 },
    });
    expect(formatStartupError(err)).toBe(
      'holdfast: not permitted to listen on port 883 (TLS listener) (ports below 1024 need privileges); choose another with --tls-port or HOLDFAST_TLS_PORT',
    );
  });

  it('is a single line without a stack trace', () => {
    const line = formatStartupError(inUse('mqtt', 1883));
    expect(line).not.toContain('\n');
    expect(line).not.toMatch(/\bat /);
    expect(formatStartupError(new Error('boom\n    at x (y.js:1:1)'))).toBe('holdfast: failed to start: boom');
  });

  it('config errors list every problem', () => {
    const text = formatStartupError(configError('x.yaml', ['a: bad', 'b: worse']));
    expect(text.split('\n')).toEqual(['holdfast: invalid configuration (x.yaml), 2 problems:', '  a: bad', '  b: worse']);
  });

  it('data directory errors name the flag', () => {
    expect(formatStartupError(new HoldfastError('APP_DATA_DIR', 'cannot create data directory /x: permission denied'))).toBe(
      'holdfast: cannot create data directory /x: permission denied; choose another with --data-dir or HOLDFAST_DATA_DIR',
    );
  });
});
