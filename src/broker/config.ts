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
  auth: {
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
  auth: {
    allowAnonymous: true,
    users: [],
  },
};
