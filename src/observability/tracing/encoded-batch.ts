/**
 * A batch of ended spans as OTLP/HTTP JSON bytes (otlp-json.ts encodeSpan, comma-separated) in
 * a buffer of the batch's own, which otlp.ts transfers whole to the export worker (postMessage
 * with the buffer in the transfer list: neither copied nor structured-cloned). Posting a batch
 * as one string had the serialiser copy it: about 20-40 µs per 45 KB batch here, against about
 * 7 µs for a transfer (and a profile of the broker at 100% sampling had a sixth of the event
 * loop's time in postMessage).
 *
 * A batch is encoded when it leaves, in one loop over its records, so the encoder runs warm.
 */
import { encodeSpan } from './otlp-json.js';
import type { SpanRecordData } from './span-record.js';

/** Room per span to start with: a span of the broker's is about 420 bytes of JSON. */
const BYTES_PER_SPAN = 512;

export class EncodedBatch {
  /** Its own ArrayBuffer (never a slice of Node's pool): it is transferred. */
  bytes: Buffer;
  /** Bytes used. */
  length = 0;

  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafeSlow(capacity);
  }

  add(record: SpanRecordData): void {
    const json = this.length === 0 ? encodeSpan(record) : `,${encodeSpan(record)}`;
    // A UTF-8 byte count at most 3 per UTF-16 unit: room checked without counting.
    if (this.bytes.length - this.length < json.length * 3) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + json.length * 3));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    this.length += this.bytes.write(json, this.length);
  }
}

/** The records as one batch, in one loop (see above). */
export function encodeBatch(records: readonly SpanRecordData[]): EncodedBatch {
  const batch = new EncodedBatch(Math.max(1, records.length) * BYTES_PER_SPAN);
  for (let i = 0; i < records.length; i++) batch.add(records[i]!);
  return batch;
}
