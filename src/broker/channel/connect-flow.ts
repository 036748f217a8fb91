/**
 * CONNECT and AUTH (MQTT 3.1, MQTT5 3.1, 3.15, 4.12): the check pipeline, authentication
 * (plain hook or enhanced authentication), session open / takeover, CONNACK.
 */
import type { AuthPacket, ConnectPacket } from '../../codec/mqtt/packets.js';
import { RC } from '../../codec/mqtt/reason-codes.js';
import type { AuthResult, ClientInfo, EnhancedAuthResult } from '../hooks.js';
import { HoldfastError } from '../../errors/index.js';
import { TokenBucket } from '../../resilience/index.js';
import type { Channel } from './channel.js';
import { connackProperties, negotiateConnect, type Negotiated } from './connect-checks.js';
import { refuse, type Refusal } from './reasons.js';
import { InboundAliases, OutboundAliases } from './topic-alias.js';
import { endSpan, traceAuthStart, traceConnectAccepted, traceConnectStart } from './trace-flow.js';

export function handleConnect(ch: Channel, p: ConnectPacket, now: number): void {
  const broker = ch.broker;
  ch.version = p.protocolVersion;
  ch.cleanStartRequested = p.clean;
  ch.state = 'authenticating';
  if (ch.admissionRefusal !== undefined) {
    // Refused at accept (overload, connection limits, connect rate): told why, nothing else done.
    ch.closeWith(ch.admissionRefusal, 'admission-refused');
    return;
  }
  const n = negotiateConnect(p, broker.config);
  if ('reasonCode' in n) {
    ch.closeWith(n, 'auth-failed');
    return;
  }
  if (n.assignedClientId) n.clientId = broker.assignClientId();
  else {
    const banned = broker.admission.onConnect(n.clientId);
    if (banned !== undefined) {
      ch.closeWith(banned, 'admission-refused'); // flapping: 0x8A Banned
      return;
    }
  }
  const out = ch.out;
  const client: ClientInfo = {
    clientId: n.clientId,
    username: p.username,
    protocolVersion: p.protocolVersion,
    // Looked up only if someone reads it (a getpeername(2) per connection otherwise).
    get remoteAddress() {
      return out.remoteAddress;
    },
    listener: out.listener,
    certificate: out.certificate,
  };
  ch.client = client;
  ch.will = p.will;
  if (broker.tracer.enabled) traceConnectStart(ch);
  if (broker.isClosing) {
    ch.closeWith(refuse(RC.SERVER_UNAVAILABLE, 'Server shutting down'), 'server-shutdown');
    return;
  }

  const method = p.properties?.authenticationMethod;
  if (method !== undefined) {
    ch.authMethod = method;
    ch.authStep = 0;
    runEnhancedAuth(ch, n, method, p.properties?.authenticationData);
    return;
  }
  const hook = broker.hooks.authenticate;
  if (hook === undefined) {
    if (!broker.config.auth.allowAnonymous && p.username === undefined) {
      ch.closeWith(refuse(RC.NOT_AUTHORIZED, 'Anonymous clients are not allowed'), 'auth-failed');
      return;
    }
    completeConnect(ch, n, p.clean, undefined, undefined);
    return;
  }
  // The backend behind the hook runs under the connect deadline and a breaker: when it keeps
  // failing, CONNECTs get 0x88 at once instead of piling up on it (issue 6).
  const ticket = broker.authBreaker.tryAcquire();
  if (ticket === 0) {
    ch.closeWith(refuse(RC.SERVER_UNAVAILABLE, 'Authentication service unavailable (breaker open)'), 'auth-failed');
    return;
  }
  const started = broker.clock.now();
  // The deadline is armed only if the hook answers asynchronously (a timer per CONNECT otherwise).
  const controller = new AbortController();
  const signal = controller.signal;
  let answer: Promise<AuthResult> | AuthResult;
  try {
    answer = hook({ client, password: p.password, connectProperties: p.properties }, signal);
  } catch (err) {
    answer = Promise.reject(err);
  }
  if (!(answer instanceof Promise)) {
    broker.authBreaker.onSuccess(ticket, 0);
    if (!answer.ok) {
      ch.closeWith(refuse(answer.reasonCode, answer.reason ?? 'Authentication failed'), 'auth-failed');
      return;
    }
    completeConnect(ch, n, p.clean, answer.username, undefined);
    return;
  }
  ch.asyncPending = true;
  const timer = setTimeout(
    () => controller.abort(new HoldfastError('DEADLINE_EXCEEDED', 'authentication did not answer within the connect timeout')),
    connectTimeLeft(ch, now),
  );
  const authSpan = ch.connectSpan === undefined ? undefined : traceAuthStart(ch, undefined);
  const settled = answer.finally(() => clearTimeout(timer));
  withDeadline(settled, signal).then(
    (res) => {
      ch.asyncPending = false;
      broker.authBreaker.onSuccess(ticket, broker.clock.now() - started); // a refusal is a valid answer
      endSpan(authSpan, res.ok ? undefined : (res.reason ?? 'authentication failed'));
      if (ch.state !== 'authenticating') return;
      if (!res.ok) {
        ch.closeWith(refuse(res.reasonCode, res.reason ?? 'Authentication failed'), 'auth-failed');
        return;
      }
      completeConnect(ch, n, p.clean, res.username, undefined);
    },
    (err: unknown) => {
      ch.asyncPending = false;
      broker.authBreaker.onFailure(ticket);
      endSpan(authSpan, 'authentication hook failed');
      if (ch.state !== 'authenticating') return;
      broker.logger.warn({ err, clientId: client.clientId }, 'authentication hook failed');
      // A failing or slow auth backend is the server's problem: 0x88, not a hang (MQTT5 3.2.2.2).
      ch.closeWith(refuse(RC.SERVER_UNAVAILABLE, 'Authentication service unavailable'), 'auth-failed');
    },
  );
}

/** One deadline for the whole CONNECT: what is left of the connect timeout since the socket was accepted. */
function connectTimeLeft(ch: Channel, now: number): number {
  return Math.max(1, ch.openedAt + ch.broker.config.mqtt.connectTimeoutMs - now);
}

function withDeadline<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Enhanced authentication (MQTT5 4.12): one step of the exchange through the hook. */
function runEnhancedAuth(ch: Channel, n: Negotiated | undefined, method: string, data: Buffer | undefined): void {
  const broker = ch.broker;
  const hook = broker.hooks.enhancedAuth;
  if (hook === undefined) {
    failAuth(ch, refuse(RC.BAD_AUTHENTICATION_METHOD, `Authentication method '${method}' is not supported`));
    return;
  }
  // Under the same breaker as the plain authentication hook: a failing backend answers 0x88 at once.
  const ticket = broker.authBreaker.tryAcquire();
  if (ticket === 0) {
    failAuth(ch, refuse(RC.SERVER_UNAVAILABLE, 'Authentication service unavailable (breaker open)'));
    return;
  }
  ch.asyncPending = true;
  const now = broker.clock.now();
  const signal = AbortSignal.timeout(ch.state === 'authenticating' ? connectTimeLeft(ch, now) : broker.config.mqtt.connectTimeoutMs);
  const authSpan = ch.connectSpan === undefined ? undefined : traceAuthStart(ch, method);
  let step: Promise<EnhancedAuthResult>;
  try {
    step = hook({ client: ch.client!, method, data, step: ch.authStep }, signal);
  } catch (err) {
    step = Promise.reject(err);
  }
  withDeadline(step, signal).then(
    (res) => {
      ch.asyncPending = false;
      broker.authBreaker.onSuccess(ticket, broker.clock.now() - now);
      endSpan(authSpan, res.status === 'fail' ? (res.reason ?? 'authentication failed') : undefined);
      if (ch.state === 'closed') return;
      ch.authStep++;
      if (res.status === 'continue') {
        // MQTT5 4.12: 0x18 Continue authentication, same method.
        ch.send({ type: 15, reasonCode: RC.CONTINUE_AUTHENTICATION, properties: authProps(method, res.data) });
        ch.releaseInput();
      } else if (res.status === 'fail') {
        failAuth(ch, refuse(res.reasonCode, res.reason ?? 'Authentication failed'));
      } else if (ch.state === 'authenticating') {
        completeConnect(ch, n!, ch.cleanStartRequested, res.username, res.data);
      } else {
        // Re-authentication succeeded (MQTT5 4.12.1).
        ch.send({ type: 15, reasonCode: RC.SUCCESS, properties: authProps(method, res.data) });
        ch.releaseInput();
      }
    },
    (err: unknown) => {
      ch.asyncPending = false;
      broker.authBreaker.onFailure(ticket);
      endSpan(authSpan, 'enhanced authentication hook failed');
      if (ch.state === 'closed') return;
      broker.logger.warn({ err }, 'enhanced authentication hook failed');
      failAuth(ch, refuse(RC.SERVER_UNAVAILABLE, 'Authentication service unavailable'));
    },
  );
  if (n !== undefined) pendingNegotiation.set(ch, n);
}

const pendingNegotiation = new WeakMap<Channel, Negotiated>();

function authProps(method: string, data: Buffer | undefined) {
  return data === undefined ? { authenticationMethod: method } : { authenticationMethod: method, authenticationData: data };
}

function failAuth(ch: Channel, r: Refusal): void {
  ch.closeWith(r, 'auth-failed');
}

/** AUTH from the client: the next step of a running exchange, or re-authentication (MQTT5 3.15, 4.12). */
export function handleAuth(ch: Channel, p: AuthPacket, _now: number): void {
  if (ch.version !== 5) {
    ch.protocolError('AUTH is an MQTT 5 packet');
    return;
  }
  const method = p.properties?.authenticationMethod;
  if (ch.authMethod === undefined || method !== ch.authMethod) {
    // MQTT-4.12.0-5 / MQTT-4.12.1-1: AUTH needs the method the CONNECT used.
    ch.protocolError('AUTH without the Authentication Method of the CONNECT');
    return;
  }
  const rc = p.reasonCode ?? 0;
  if (ch.state === 'authenticating') {
    if (rc !== RC.CONTINUE_AUTHENTICATION) {
      ch.protocolError('Expected AUTH with reason 0x18 during authentication');
      return;
    }
  } else if (rc !== RC.REAUTHENTICATE && rc !== RC.CONTINUE_AUTHENTICATION) {
    ch.protocolError('Expected AUTH with reason 0x19 to re-authenticate');
    return;
  }
  runEnhancedAuth(ch, pendingNegotiation.get(ch), method, p.properties?.authenticationData);
}

/** Authentication passed: open (or take over) the session and send CONNACK (MQTT-3.2.0-1). */
export function completeConnect(
  ch: Channel,
  n: Negotiated,
  cleanStart: boolean,
  usernameOverride: string | undefined,
  authData: Buffer | undefined,
): void {
  const broker = ch.broker;
  const client = ch.client!;
  if (usernameOverride !== undefined) ch.client = { ...client, username: usernameOverride };
  const will = ch.will;
  if (will !== undefined && broker.hooks.authorizePublish && !broker.hooks.authorizePublish(ch.client!, will.topic, will.qos, will.retain)) {
    ch.closeWith(refuse(RC.NOT_AUTHORIZED, 'Not authorized to publish the will topic'), 'auth-failed');
    return;
  }
  if (broker.isClosing) {
    ch.closeWith(refuse(RC.SERVER_UNAVAILABLE, 'Server shutting down'), 'server-shutdown');
    return;
  }
  const { session, present } = broker.openSession({
    clientId: n.clientId,
    cleanStart,
    expiryIntervalS: n.sessionExpiryS,
    protocolVersion: ch.version,
    username: ch.client!.username,
  });
  ch.session = session;
  ch.setNegotiated(n);
  const limits = broker.config.clientLimits;
  if (limits.publishRatePerS > 0) {
    ch.publishBucket = new TokenBucket({ capacity: limits.publishBurst, refillPerSec: limits.publishRatePerS, clock: broker.rateClock });
  }
  const cfg = broker.config.mqtt;
  if (ch.version === 5) {
    if (cfg.topicAliasMaximum > 0) ch.inAliases = new InboundAliases(cfg.topicAliasMaximum);
    if (n.clientTopicAliasMaximum > 0) ch.outAliases = new OutboundAliases(Math.min(n.clientTopicAliasMaximum, 1024));
  }
  ch.state = 'connected';
  const properties = connackProperties(broker.config, n, ch.version);
  if (properties !== undefined && ch.authMethod !== undefined) {
    properties.authenticationMethod = ch.authMethod;
    if (authData !== undefined) properties.authenticationData = authData;
  }
  // MQTT-3.2.2-2/3: session present only when a session was resumed (never with clean start).
  ch.send({ type: 2, sessionPresent: present, reasonCode: RC.SUCCESS, properties });
  ch.connackSent = true;
  broker.stats.connectionsAccepted++;
  if (ch.connectSpan !== undefined) traceConnectAccepted(ch, present);
  if (broker.hooks.onConnected) {
    try {
      broker.hooks.onConnected(ch.client!, present);
    } catch (err) {
      broker.logger.error({ err }, 'onConnected hook failed');
    }
  }
  broker.attach(session, ch, ch.client); // MQTT-4.4.0-1: resend unacknowledged messages
  ch.releaseInput();
}
