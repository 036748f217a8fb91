/**
 * Opens the configured listeners: MQTT over TCP, over TLS, and over WebSocket (path
 * /mqtt by default, subprotocol "mqtt", MQTT5 6.0). Each accepted connection gets a
 * Connection; the broker's sweep handles every timeout.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { HoldfastError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import type { Broker } from '../broker.js';
import { Connection } from './connection.js';
import type { BoundAddresses, InheritedListener, ListenerName, Listeners, ListenersConfig, TlsFiles } from './listeners-api.js';
import { socketWire, webSocketWire } from './wire.js';

function acceptSocket(broker: Broker, socket: Socket, listener: string): void {
  if (broker.isClosing) {
    broker.stats.connectionsRefused++;
    socket.destroy();
    return;
  }
  const conn = new Connection(broker);
  conn.start(socketWire(socket, listener, conn));
}

function bindPort(server: NetServer | HttpServer, name: ListenerName, host: string, port: number, backlog: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
        reject(
          new HoldfastError(
            err.code === 'EADDRINUSE' ? 'TRANSPORT_ADDRESS_IN_USE' : 'TRANSPORT_ADDRESS_FORBIDDEN',
            `${name} listener: port ${port} on ${host} is ${err.code === 'EADDRINUSE' ? 'already in use' : 'not allowed'}`,
            { cause: err, details: { listener: name, host, port } },
          ),
        );
      } else {
        reject(new HoldfastError('TRANSPORT_LISTEN_FAILED', `${name} listener failed: ${err.message}`, { cause: err, details: { listener: name, host, port } }));
      }
    };
    const onListening = () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, backlog });
  });
}

export async function startListeners(broker: Broker, cfg: ListenersConfig, logger: Logger): Promise<Listeners> {
  const servers: (NetServer | HttpServer)[] = [];
  const wsServers: WebSocketServer[] = [];
  const addresses: BoundAddresses = {};
  let tlsServer: TlsServer | undefined;
  // Zero-downtime restart (issue 8): a port inherited from the process before is not bound again.
  const inherited: InheritedListener[] = [];
  const named: Partial<Record<'mqtt' | 'ws' | 'tls', NetServer>> = {};
  const listen = (server: NetServer | HttpServer, name: 'mqtt' | 'ws' | 'tls', host: string, port: number, backlog: number): Promise<number> => {
    const from = cfg.inherited?.[name];
    if (from === undefined) {
      named[name] = server;
      return bindPort(server, name, host, port, backlog);
    }
    inherited.push(from);
    named[name] = from.server;
    from.accept((socket) => server.emit('connection', socket));
    return Promise.resolve(from.port);
  };
  const close = async () => {
    for (const w of wsServers) w.close();
    await Promise.all([
      ...servers.filter((s) => s.listening).map((s) => new Promise<void>((r) => s.close(() => r()))),
      ...inherited.map((l) => l.close()),
    ]);
  };
  try {
    if (cfg.mqttPort !== null) {
      const server = createNetServer({ noDelay: true }, (s) => acceptSocket(broker, s, 'mqtt'));
      servers.push(server);
      addresses.mqtt = await listen(server, 'mqtt', cfg.bind, cfg.mqttPort, cfg.backlog);
    }
    if (cfg.tls !== null) {
      const t = cfg.tls;
      const server = createTlsServer(
        { cert: t.cert, key: t.key, ca: t.ca, requestCert: t.requestCert ?? false, rejectUnauthorized: false },
        (s: TLSSocket) => acceptSocket(broker, s, 'tls'),
      );
      server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'TLS handshake failed'));
      tlsServer = server;
      servers.push(server);
      addresses.tls = await listen(server, 'tls', cfg.bind, t.port, cfg.backlog);
    }
    if (cfg.wsPort !== null) {
      const http = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
        res.end(`MQTT over WebSocket: connect to ${cfg.wsPath} with subprotocol "mqtt"\n`);
      });
      const wss = new WebSocketServer({
        server: http,
        path: cfg.wsPath,
        perMessageDeflate: false,
        maxPayload: broker.config.mqtt.maxPacketSizeBytes + 8,
        // MQTT5 6.0: the subprotocol is "mqtt" ("mqttv3.1" for old 3.1 clients).
        handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
      });
      // Listen errors surface through the HTTP server (listen() below); without a handler here they would crash.
      wss.on('error', (err) => logger.debug({ err: err.message }, 'WebSocket server error'));
      wss.on('connection', (ws, req) => {
        if (broker.isClosing) {
          ws.terminate();
          return;
        }
        const conn = new Connection(broker);
        conn.start(webSocketWire(ws, { address: req.socket.remoteAddress, port: req.socket.remotePort }, 'ws', undefined, conn));
      });
      wsServers.push(wss);
      servers.push(http);
      addresses.ws = await listen(http, 'ws', cfg.bind, cfg.wsPort, cfg.backlog);
    }
  } catch (err) {
    await close();
    throw err;
  }
  logger.debug({ addresses }, 'listeners open');
  const updateTls = (files: TlsFiles): boolean => {
    if (tlsServer === undefined) return false;
    // Throws (and changes nothing) when the key does not fit the certificate or a PEM is bad.
    tlsServer.setSecureContext({ cert: files.cert, key: files.key, ca: files.ca });
    return true;
  };
  return { addresses, close, updateTls, servers: () => ({ ...named }) };
}
