/**
 * Trace and span ids for the OpenTelemetry SDK (its `IdGenerator` interface), cheaper than
 * the SDK's RandomIdGenerator (a Math.random() call per 4 bytes): random bytes are drawn
 * from the OS in blocks (`crypto.randomFillSync`, one call per 4 KiB, i.e. ~170 spans)
 * and handed out as lowercase hex. An all-zero id is invalid (W3C Trace Context 3.2.2.3,
 * 3.2.2.4): the last byte is then set to 1, as the SDK does.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;

export class PooledIdGenerator {
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private offset = POOL_BYTES;

  generateTraceId(): string {
    return this.next(16);
  }

  generateSpanId(): string {
    return this.next(8);
  }

  private next(bytes: number): string {
    if (this.offset + bytes > POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const start = this.offset;
    const end = start + bytes;
    this.offset = end;
    const pool = this.pool;
    let zero = true;
    for (let i = start; i < end; i++) {
      if (pool[i] !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) pool[end - 1] = 1;
    return pool.toString('hex', start, end);
  }
}
