/**
 * The NDJSON form of records: one JSON object per line, with the record's `sequenceNumber`,
 * `subSequenceNumber`, `partitionKey` and `data` (standard base64), and its `aggregate` part and
 * `approximateArrivalTimestamp` when it has them. It decodes with the `StreamRecord.Json` Schema.
 *
 * @since 0.1.0
 */
import { type KeyedFlusher, type StreamRecord } from "@flusher/core"

/**
 * One record as one line of JSON (without the newline).
 *
 * @since 0.1.0
 * @category encoding
 */
export const lineOfRecord = (record: StreamRecord.StreamRecord): string => {
  // Built by hand: this runs once per record written, and JSON.stringify of a fresh object costs twice as much.
  let line = `{"sequenceNumber":"${record.sequenceNumber}","subSequenceNumber":${record.subSequenceNumber},` +
    `"partitionKey":${record.partitionKey === null ? "null" : JSON.stringify(record.partitionKey)},` +
    `"data":"${Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString("base64")}"`
  if (record.aggregate !== null) {
    line += `,"aggregate":{"index":${record.aggregate.index},"size":${record.aggregate.size}}`
  }
  if (record.approximateArrivalTimestamp !== null) {
    line += `,"approximateArrivalTimestamp":${record.approximateArrivalTimestamp}`
  }
  return `${line}}`
}

const isRecord = (value: unknown): value is StreamRecord.StreamRecord =>
  typeof value === "object" && value !== null && "sequenceNumber" in value && "data" in value

const isKeyBatch = (value: unknown): value is KeyedFlusher.KeyBatch =>
  typeof value === "object" && value !== null && "key" in value && "records" in value

/**
 * The lines of a batch of the batching flusher (an array of records) or of the keyed flusher (an array of key
 * batches). Throws for anything else.
 *
 * @since 0.1.0
 * @category encoding
 */
export const linesOfBatch = (batch: unknown): Array<string> => {
  if (!Array.isArray(batch)) throw new TypeError("the batch is not an array")
  const lines: Array<string> = []
  for (const item of batch) {
    if (isRecord(item)) lines.push(lineOfRecord(item))
    else if (isKeyBatch(item)) { for (const record of item.records) lines.push(lineOfRecord(record)) }
    else throw new TypeError("the batch holds something that is neither a record nor a key batch")
  }
  return lines
}
