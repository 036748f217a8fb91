/**
 * The broker's own settings, as plain data. The app layer builds this from the validated
 * config file (src/app/config), so nothing here parses or validates user input; the
 * defaults below are the single source of truth for the documented defaults.
 */

export type QueueDropPolicy = 'drop-oldest' | 'drop-newest';

export type AclAction = 'publish' | 'subscribe' | 'all';

export interface AclRule {
  action: AclAction;
  /** Topic filter; `%c` is replaced by the client id, `%u` by the username. */
  topic: string;
  allow: boolean;
  /** Only for this client id (exact match). */
  clientId?: string;
  /** Only for this username (exact match). */
  username?: string;
}

export interface UserEntry {
  username: string;
  /** `scrypt$N$r$p$saltB64$hashB64`, as printed by `holdfast passwd`. */
  passwordHash: string;
}

export interface AdmissionConfig {
  /** Open connections at most, over all listeners; 0 = no limit. */
  maxConnections: number;
  /** Open connections at most on each listener; 0 = no limit. */
  maxConnectionsPerListener: number;
  /** New connections per second on each listener (token bucket); 0 = no limit. */
  connectRatePerListenerPerS: number;
  connectBurstPerListener: number;
  /** New connections per second from one source address; 0 = no limit. */
  connectRatePerIpPerS: number;
  connectBurstPerIp: number;
  /** Source addresses tracked at most by the per-address limit. */
  maxTrackedIps: number;
}

export interface OverloadConfig {
  enabled: boolean;
  /** Event-loop delay (p99 per sample) at which new connections are refused (level 1). */
  refuseConnectsAtDelayMs: number;
  /** Event-loop delay at which reading publishes stops too (level 2); acks keep flowing. */
  pausePublishesAtDelayMs: number;
  /** Heap used, as a share of the V8 heap limit, that counts as level 1 / level 2. */
  refuseConnectsAtHeapRatio: number;
  pausePublishesAtHeapRatio: number;
  /** How long the signals must stay below the thresholds before a level is left. */
  recoverAfterMs: number;
}

export interface ClientLimitsConfig {
  /** PUBLISH packets per second per client; 0 = no limit. */
  publishRatePerS: number;
  publishBurst: number;
  /** Bytes per second per client (all packets); 0 = no limit. */
  bytesPerS: number;
  bytesBurst: number;
  /** throttle: stop reading the client until it is back within its rate; disconnect: v5 0x96. */
  onExceed: 'throttle' | 'disconnect';
}

export interface FlappingConfig {
  enabled: boolean;
  /** More CONNECTs than this for one client id within windowMs bans it. */
  maxConnects: number;
  windowMs: number;
  banMs: number;
  maxTrackedClients: number;
}

export interface BrokerConfig {
  mqtt: {
    /** Server Keep Alive returned when a v5 client asks for more (or for 0). */
    maxKeepAliveS: number;
    /** Time allowed between TCP accept and a complete CONNECT. */
    connectTimeoutMs: number;
    /** Largest packet accepted from clients; advertised as Maximum Packet Size (v5). */
    maxPacketSizeBytes: number;
    /** Receive Maximum advertised to v5 clients: QoS 1/2 publishes they may have unacknowledged. */
    receiveMaximum: number;
    /** Outbound QoS 1/2 inflight window used for 3.1.1 clients (and the cap for v5 clients). */
    maxInflightMessages: number;
    /** Topic Alias Maximum advertised to v5 clients (0 disables inbound aliases). */
    topicAliasMaximum: number;
    /** Highest QoS accepted; advertised as Maximum QoS. */
    maximumQoS: 0 | 1 | 2;
    retainAvailable: boolean;
    wildcardSubscriptionAvailable: boolean;
    subscriptionIdentifierAvailable: boolean;
    sharedSubscriptionAvailable: boolean;
    /** Cap on Session Expiry Interval (v5) and the expiry given to 3.1.1 clean-session-0 sessions. */
    maxSessionExpiryS: number;
    /** Longest client id accepted (MQTT-3.1.3-5 requires at least 23). */
    maxClientIdLength: number;
    /** Longest topic name or filter, in bytes. */
    maxTopicLengthBytes: number;
    /** Most levels in a topic name or filter. */
    maxTopicLevels: number;
    /** Subscriptions one session may hold. */
    maxSubscriptionsPerSession: number;
    /** Allow 3.1.1 clients with an empty client id and clean session 1 (MQTT-3.1.3-6). */
    allowEmptyClientId: boolean;
    /** Retained messages kept at most; a new topic past this is refused (existing ones may be replaced). */
    maxRetainedMessages: number;
  };
  session: {
    /** Queued (not yet inflight) QoS 1/2 messages per session, online or offline. */
    maxQueuedMessages: number;
    /** Queued messages of a persistent session held in memory; a longer queue stays on disk and is read back as it drains. */
    maxInMemoryQueued: number;
    /** What happens to a message for a full queue. Drops are counted. */
    queueDropPolicy: QueueDropPolicy;
    /** Also queue QoS 0 messages for offline persistent sessions (Mosquitto's queue_qos0_messages). */
    queueQos0Offline: boolean;
  };
  limits: {
    /** Bytes buffered for a socket above which we stop feeding it and apply backpressure. */
    outboundHighWaterBytes: number;
    /** A socket that stays unwritable this long is disconnected as a slow consumer. */
    drainTimeoutMs: number;
    /** A subscriber that made no progress for this long stops slowing its publishers down. */
    stallDetectMs: number;
    /** A publisher whose acknowledgement waits this long for the store (failing disk) is disconnected; it resends. */
    ackWaitTimeoutMs: number;
  };
  acl: {
    rules: AclRule[];
    /** 0x87 (Not authorized, v5 default) or 0x80 (for old client libraries). */
    deniedSubscribeReasonCode: 0x80 | 0x87;
  };
  admission: AdmissionConfig;
  overload: OverloadConfig;
  clientLimits: ClientLimitsConfig;
  flapping: FlappingConfig;
  auth: {
    /** Consecutive failures (errors, timeouts) of the authentication hook that open its breaker (CONNACK 0x88 meanwhile). */
    breakerFailures: number;
    /** How long the breaker stays open before trial calls. */
    breakerOpenMs: number;
    /** Refuse clients without valid credentials when users are configured. */
    allowAnonymous: boolean;
    users: UserEntry[];
  };
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = {
  mqtt: {
    maxKeepAliveS: 60,
    connectTimeoutMs: 10_000,
    maxPacketSizeBytes: 1024 * 1024,
    receiveMaximum: 1024,
    maxInflightMessages: 1024,
    topicAliasMaximum: 64,
    maximumQoS: 2,
    retainAvailable: true,
    wildcardSubscriptionAvailable: true,
    subscriptionIdentifierAvailable: true,
    sharedSubscriptionAvailable: true,
    maxSessionExpiryS: 7 * 24 * 3600,
    maxClientIdLength: 256,
    maxTopicLengthBytes: 1024,
    maxTopicLevels: 32,
    maxSubscriptionsPerSession: 1000,
    allowEmptyClientId: true,
    maxRetainedMessages: 1_000_000,
  },
  session: {
    maxQueuedMessages: 10_000,
    maxInMemoryQueued: 1_000,
    queueDropPolicy: 'drop-oldest',
    queueQos0Offline: false,
  },
  limits: {
    outboundHighWaterBytes: 1024 * 1024,
    drainTimeoutMs: 10_000,
    stallDetectMs: 1_000,
    ackWaitTimeoutMs: 30_000,
  },
  acl: {
    rules: [],
    deniedSubscribeReasonCode: 0x87,
  },
  admission: {
    maxConnections: 1_000_000,
    maxConnectionsPerListener: 0,
    connectRatePerListenerPerS: 0,
    connectBurstPerListener: 1000,
    connectRatePerIpPerS: 0,
    connectBurstPerIp: 20,
    maxTrackedIps: 100_000,
  },
  overload: {
    enabled: true,
    refuseConnectsAtDelayMs: 1000,
    pausePublishesAtDelayMs: 3000,
    refuseConnectsAtHeapRatio: 0.9,
    pausePublishesAtHeapRatio: 0.97,
    recoverAfterMs: 5_000,
  },
  clientLimits: {
    publishRatePerS: 0,
    publishBurst: 1000,
    bytesPerS: 0,
    bytesBurst: 1024 * 1024,
    onExceed: 'throttle',
  },
  flapping: {
    enabled: true,
    maxConnects: 15,
    windowMs: 60_000,
    banMs: 300_000,
    maxTrackedClients: 100_000,
  },
  auth: {
    breakerFailures: 5,
    breakerOpenMs: 10_000,
    allowAnonymous: true,
    users: [],
  },
};
