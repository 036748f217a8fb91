/**
 * Prepared statements, and the application of one write batch in one transaction.
 */
import type Database from 'better-sqlite3';
import { deliveryToRow, messageToRow, propsToJson } from './rows.js';
import type { WriteBatch } from './write-batch.js';

export class Statements {
  readonly allSessions;
  readonly subsOf;
  readonly qos2Of;
  readonly getWill;
  readonly countDeliveries;
  readonly deliveriesAfter;
  readonly inflightOf;
  readonly allRetained;
  readonly maxMessageId;
  readonly purgeExpiredDeliveries;
  readonly purgeOrphanMessages;
  readonly purgeExpiredRetained;
  readonly getMeta;
  readonly outboxAfter;
  readonly outboxStats;
  readonly deadAfter;
  readonly deadAfterAll;
  private readonly putOutbox;
  private readonly delOutbox;
  private readonly outboxAttempts;
  private readonly putDead;
  private readonly delDead;
  private readonly putSession;
  private readonly delSession: Database.Statement[];
  private readonly putSub;
  private readonly delSub;
  private readonly putMessage;
  private readonly putDelivery;
  private readonly updDelivery;
  private readonly delDelivery;
  private readonly putQos2;
  private readonly delQos2;
  private readonly putRetained;
  private readonly delRetained;
  private readonly putWill;
  private readonly delWill;
  private readonly putMeta;
  private readonly tx: (batch: WriteBatch) => number;

  constructor(db: Database.Database) {
    this.allSessions = db.prepare('SELECT * FROM sessions');
    this.subsOf = db.prepare('SELECT * FROM subscriptions WHERE client_id = ?');
    this.qos2Of = db.prepare('SELECT packet_id FROM inbound_qos2 WHERE client_id = ?');
    this.getWill = db.prepare('SELECT * FROM wills WHERE client_id = ?');
    this.countDeliveries = db.prepare(
      'SELECT count(*) FILTER (WHERE packet_id IS NULL) AS queued, coalesce(max(seq), 0) AS last FROM deliveries WHERE client_id = ?',
    );
    const joined = `SELECT d.*, m.id AS mid, m.topic, m.payload, m.qos AS mqos, m.retain AS mretain, m.properties, m.expires_at,
              m.publisher_id, m.created_at
         FROM deliveries d JOIN messages m ON m.id = d.message_id`;
    this.deliveriesAfter = db.prepare(`${joined} WHERE d.client_id = ? AND d.seq > ? AND d.packet_id IS NULL ORDER BY d.seq LIMIT ?`);
    this.inflightOf = db.prepare(`${joined} WHERE d.client_id = ? AND d.packet_id IS NOT NULL ORDER BY d.seq`);
    this.allRetained = db.prepare('SELECT * FROM retained');
    this.maxMessageId = db.prepare(
      `SELECT max(m) AS m FROM (SELECT max(id) AS m FROM messages UNION ALL SELECT max(id) FROM retained
         UNION ALL SELECT max(message_id) FROM outbox UNION ALL SELECT max(message_id) FROM dead_letters)`,
    );
    this.purgeExpiredDeliveries = db.prepare(
      `DELETE FROM deliveries WHERE (client_id, seq) IN (
         SELECT d.client_id, d.seq FROM deliveries d JOIN messages m ON m.id = d.message_id
          WHERE d.packet_id IS NULL AND m.expires_at != 0 AND m.expires_at <= ? LIMIT ?)`,
    );
    this.purgeOrphanMessages = db.prepare(
      `DELETE FROM messages WHERE id IN (
         SELECT id FROM messages m WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id) LIMIT ?)`,
    );
    this.purgeExpiredRetained = db.prepare(
      `DELETE FROM retained WHERE topic IN (SELECT topic FROM retained WHERE expires_at != 0 AND expires_at <= ? LIMIT ?)`,
    );
    this.putSession = db.prepare(
      `INSERT INTO sessions (client_id, protocol_version, expiry_s, disconnected_at, username)
       VALUES (@client_id, @protocol_version, @expiry_s, @disconnected_at, @username)
       ON CONFLICT (client_id) DO UPDATE SET protocol_version = excluded.protocol_version, expiry_s = excluded.expiry_s,
         disconnected_at = excluded.disconnected_at, username = excluded.username`,
    );
    this.delSession = ['sessions', 'subscriptions', 'deliveries', 'inbound_qos2', 'wills'].map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE client_id = ?`),
    );
    this.putSub = db.prepare(
      `INSERT OR REPLACE INTO subscriptions (client_id, filter, qos, no_local, rap, retain_handling, sub_id)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.delSub = db.prepare('DELETE FROM subscriptions WHERE client_id = ? AND filter = ?');
    this.putMessage = db.prepare(
      `INSERT OR IGNORE INTO messages (id, topic, payload, qos, retain, properties, expires_at, publisher_id, created_at)
       VALUES (@id, @topic, @payload, @qos, @retain, @properties, @expires_at, @publisher_id, @created_at)`,
    );
    this.putDelivery = db.prepare(
      `INSERT OR REPLACE INTO deliveries (client_id, seq, message_id, qos, retain, sub_ids, share_key, packet_id, pubrel)
       VALUES (@client_id, @seq, @message_id, @qos, @retain, @sub_ids, @share_key, @packet_id, @pubrel)`,
    );
    this.updDelivery = db.prepare('UPDATE deliveries SET packet_id = ?, pubrel = ? WHERE client_id = ? AND seq = ?');
    this.delDelivery = db.prepare('DELETE FROM deliveries WHERE client_id = ? AND seq = ?');
    this.putQos2 = db.prepare('INSERT OR IGNORE INTO inbound_qos2 (client_id, packet_id) VALUES (?, ?)');
    this.delQos2 = db.prepare('DELETE FROM inbound_qos2 WHERE client_id = ? AND packet_id = ?');
    this.putRetained = db.prepare(
      `INSERT OR REPLACE INTO retained (topic, id, payload, qos, properties, expires_at, publisher_id, created_at)
       VALUES (@topic, @id, @payload, @qos, @properties, @expires_at, @publisher_id, @created_at)`,
    );
    this.delRetained = db.prepare('DELETE FROM retained WHERE topic = ?');
    this.putWill = db.prepare(
      'INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, fire_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.delWill = db.prepare('DELETE FROM wills WHERE client_id = ?');
    this.getMeta = db.prepare('SELECT value FROM meta WHERE key = ?');
    this.putMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.outboxAfter = db.prepare('SELECT * FROM outbox WHERE sink = ? AND message_id > ? ORDER BY message_id LIMIT ?');
    this.outboxStats = db.prepare(
      'SELECT sink, count(*) AS count, coalesce(sum(length(payload)), 0) AS bytes, min(created_at) AS oldest FROM outbox GROUP BY sink',
    );
    this.deadAfter = db.prepare('SELECT * FROM dead_letters WHERE sink = ? AND message_id > ? ORDER BY message_id LIMIT ?');
    this.deadAfterAll = db.prepare('SELECT * FROM dead_letters WHERE message_id > ? ORDER BY message_id LIMIT ?');
    this.putOutbox = db.prepare(
      `INSERT OR REPLACE INTO outbox (sink, message_id, topic, payload, qos, retain, properties, publisher_id, created_at, attempts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.delOutbox = db.prepare('DELETE FROM outbox WHERE sink = ? AND message_id = ?');
    this.outboxAttempts = db.prepare('UPDATE outbox SET attempts = ? WHERE sink = ? AND message_id = ?');
    this.putDead = db.prepare(
      `INSERT OR REPLACE INTO dead_letters (sink, message_id, topic, payload, qos, retain, properties, publisher_id, created_at, attempts, error, failed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.delDead = db.prepare('DELETE FROM dead_letters WHERE sink = ? AND message_id = ?');
    this.tx = db.transaction((batch: WriteBatch) => this.run(batch));
  }

  /** Applies every operation of the batch in one transaction; returns the statements run. */
  apply(batch: WriteBatch): number {
    return this.tx(batch);
  }

  private run(batch: WriteBatch): number {
    let n = 0;
    const written = new Set<number>();
    for (const op of batch.ops) {
      switch (op.k) {
        case 'session':
          this.putSession.run({
            client_id: op.s.clientId,
            protocol_version: op.s.protocolVersion,
            expiry_s: op.s.expiryIntervalS,
            disconnected_at: op.s.disconnectedAt ?? null,
            username: op.s.username ?? null,
          });
          break;
        case 'delSession':
          for (const st of this.delSession) st.run(op.id);
          break;
        case 'sub': {
          const s = op.sub;
          this.putSub.run(op.id, s.filter, s.qos, s.noLocal ? 1 : 0, s.retainAsPublished ? 1 : 0, s.retainHandling, s.subscriptionId ?? null);
          break;
        }
        case 'delSub':
          this.delSub.run(op.id, op.filter);
          break;
        case 'delivery':
          if (op.cancelled) continue;
          if (!written.has(op.m.id)) {
            this.putMessage.run(messageToRow(op.m));
            written.add(op.m.id);
            n++;
          }
          this.putDelivery.run(deliveryToRow(op.id, op.d));
          break;
        case 'updDelivery':
          this.updDelivery.run(op.packetId ?? null, op.pubrel ? 1 : 0, op.id, op.seq);
          break;
        case 'delDelivery':
          this.delDelivery.run(op.id, op.seq);
          break;
        case 'qos2':
          this.putQos2.run(op.id, op.pid);
          break;
        case 'delQos2':
          this.delQos2.run(op.id, op.pid);
          break;
        case 'retained': {
          const r = messageToRow(op.m);
          this.putRetained.run({
            topic: r.topic,
            id: r.id,
            payload: r.payload,
            qos: r.qos,
            properties: r.properties,
            expires_at: r.expires_at,
            publisher_id: r.publisher_id,
            created_at: r.created_at,
          });
          break;
        }
        case 'delRetained':
          this.delRetained.run(op.topic);
          break;
        case 'will':
          this.putWill.run(op.id, op.w.topic, op.w.payload, op.w.qos, op.w.retain ? 1 : 0, propsToJson(op.w.properties), op.w.fireAt);
          break;
        case 'delWill':
          this.delWill.run(op.id);
          break;
        case 'outbox': {
          const e = op.e;
          this.putOutbox.run(e.sink, e.messageId, e.topic, e.payload, e.qos, e.retain ? 1 : 0, propsToJson(e.properties), e.publisherId ?? null, e.createdAt, e.attempts);
          break;
        }
        case 'delOutbox':
          for (const id of op.ids) this.delOutbox.run(op.sink, id);
          break;
        case 'outboxAttempts':
          this.outboxAttempts.run(op.attempts, op.sink, op.id);
          break;
        case 'dead': {
          const d = op.d;
          this.putDead.run(d.sink, d.messageId, d.topic, d.payload, d.qos, d.retain ? 1 : 0, propsToJson(d.properties), d.publisherId ?? null, d.createdAt, d.attempts, d.error, d.failedAt);
          break;
        }
        case 'delDead':
          for (const id of op.ids) this.delDead.run(op.sink, id);
          break;
        case 'meta':
          this.putMeta.run(op.key, op.value);
          break;
      }
      n++;
    }
    return n;
  }
}
