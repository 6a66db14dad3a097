/**
 * Splitting KPL aggregated records into the user records they hold.
 *
 * The Kinesis Producer Library packs many user records into one Kinesis record: a 4-byte magic, a protobuf
 * `AggregatedRecord` (a table of partition keys, a table of explicit hash keys, and the records, each naming its
 * keys by index), then the MD5 of the protobuf bytes. Current daemons split the standard format (magic
 * `F3 89 9A C2`) themselves. erlmld's producers write two variants the daemon passes through whole, which the
 * worker must split:
 *
 * - magic `00 89 9A C2`: the standard layout under another magic;
 * - magic `01 89 9A C2`: the magic, then zlib's compressed form (RFC 1950, as Erlang's `zlib:compress/1` writes it)
 *   of the protobuf bytes followed by their MD5. The checksum is inside the compressed stream and covers the
 *   uncompressed protobuf bytes.
 *
 * The standard format is split here too, for sources that do not split it. Every part shares the aggregate's
 * sequence and sub-sequence numbers and carries its place in the aggregate (`aggregate: { index, size }`), so only the
 * last part is a checkpoint position (see `Position.isCheckpointable`). A corrupt aggregate is an error that names
 * the record: it is never passed on whole, and never skipped.
 *
 * @since 0.1.0
 */
import { Position, type StreamRecord } from "@flusher/core"
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import { inflateSync } from "node:zlib"
import protobuf from "protobufjs"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * The kind of aggregate, told by its magic:
 *
 * - `Standard`: `F3 89 9A C2`, the KPL's own;
 * - `Uncompressed`: `00 89 9A C2`, erlmld's, with the standard layout;
 * - `Compressed`: `01 89 9A C2`, erlmld's, with the protobuf bytes and their MD5 compressed by zlib.
 *
 * @since 0.1.0
 * @category models
 */
export type Variant = "Standard" | "Uncompressed" | "Compressed"

/**
 * The most bytes a compressed aggregate may inflate to. A Kinesis record holds at most a few MiB, and erlmld sizes
 * its aggregates before compression, so anything near this is not an aggregate but a hazard.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxInflatedBytes = 64 * 1024 * 1024

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * What is wrong with an aggregate:
 *
 * - `Truncated`: too short to hold the MD5 after the protobuf bytes;
 * - `ChecksumMismatch`: the MD5 is not the one of the protobuf bytes;
 * - `BadZlib`: a compressed aggregate does not inflate, or inflates past `maxInflatedBytes`;
 * - `BadProtobuf`: the protobuf bytes are not an `AggregatedRecord`;
 * - `PartitionKeyOutOfRange`: a record names a partition key the table does not have;
 * - `Empty`: the aggregate holds no record.
 *
 * @since 0.1.0
 * @category errors
 */
export type CorruptionReason =
  | "Truncated"
  | "ChecksumMismatch"
  | "BadZlib"
  | "BadProtobuf"
  | "PartitionKeyOutOfRange"
  | "Empty"

/**
 * A record marked as a KPL aggregate that cannot be split.
 *
 * @since 0.1.0
 * @category errors
 */
export class CorruptAggregate extends Data.TaggedError("CorruptAggregate")<{
  readonly reason: CorruptionReason
  readonly variant: Variant
  /** The position of the aggregate's record in its shard. */
  readonly position: Position.Position
  readonly detail: string
}> {
  override get message(): string {
    return `The record at ${Position.format(this.position)} is a KPL aggregate (${this.variant}, magic ` +
      `${magicText[this.variant]}) that cannot be split (${this.reason}): ${this.detail}. Its records are neither ` +
      `passed on whole nor skipped: the shard stops before it, with nothing checkpointed past it. Find the producer ` +
      `that wrote it, or drop the record before splitting.`
  }
}

// -----------------------------------------------------------------------------
// splitting
// -----------------------------------------------------------------------------

/**
 * The variant of aggregate that bytes start with, or `null` when they are not an aggregate. Reads 4 bytes.
 *
 * @since 0.1.0
 * @category getters
 */
export const variantOf = (data: Uint8Array): Variant | null => {
  if (data.length < 4 || data[1] !== 0x89 || data[2] !== 0x9a || data[3] !== 0xc2) return null
  switch (data[0]) {
    case 0xf3:
      return "Standard"
    case 0x00:
      return "Uncompressed"
    case 0x01:
      return "Compressed"
    default:
      return null
  }
}

/**
 * Whether a record is an aggregate to split. A record that already is a part of an aggregate is not: aggregates do
 * not nest, so its bytes are the user's, whatever they start with.
 *
 * @since 0.1.0
 * @category guards
 */
export const isAggregate = (record: StreamRecord.StreamRecord): boolean =>
  record.aggregate === null && variantOf(record.data) !== null

/**
 * Splits a record: the parts of an aggregate, in order, or the record itself, alone, when it is not one.
 *
 * @since 0.1.0
 * @category splitting
 */
export const split = (
  record: StreamRecord.StreamRecord
): Either.Either<ReadonlyArray<StreamRecord.StreamRecord>, CorruptAggregate> => {
  const variant = record.aggregate === null ? variantOf(record.data) : null
  return variant === null ? Either.right([record]) : splitAggregate(record, variant)
}

/**
 * Splits every aggregate among records, keeping their order. When none is an aggregate, which costs a 4-byte check
 * per record, the same array comes back, not a copy. The first corrupt aggregate fails the whole batch.
 *
 * @since 0.1.0
 * @category splitting
 */
export const splitAll = (
  records: ReadonlyArray<StreamRecord.StreamRecord>
): Either.Either<ReadonlyArray<StreamRecord.StreamRecord>, CorruptAggregate> => {
  const length = records.length
  let first = 0
  while (first < length && !isAggregate(records[first])) first++
  if (first === length) return Either.right(records)

  const result = records.slice(0, first)
  for (let i = first; i < length; i++) {
    const record = records[i]
    const variant = record.aggregate === null ? variantOf(record.data) : null
    if (variant === null) {
      result.push(record)
      continue
    }
    const parts = splitAggregate(record, variant)
    if (Either.isLeft(parts)) return parts
    for (const part of parts.right) result.push(part)
  }
  return Either.right(result)
}

// -----------------------------------------------------------------------------
// internal
// -----------------------------------------------------------------------------

const magicText: Record<Variant, string> = {
  Standard: "F3 89 9A C2",
  Uncompressed: "00 89 9A C2",
  Compressed: "01 89 9A C2"
}

const magicLength = 4
const md5Length = 16

// The message of the KPL's aggregation format, written from its published field numbers and types.
const AggregatedRecord = protobuf.parse(
  `syntax = "proto2";
message AggregatedRecord {
  repeated string partition_key_table = 1;
  repeated string explicit_hash_key_table = 2;
  repeated Record records = 3;
}
message Tag {
  required string key = 1;
  optional string value = 2;
}
message Record {
  required uint64 partition_key_index = 1;
  optional uint64 explicit_hash_key_index = 2;
  required bytes data = 3;
  repeated Tag tags = 4;
}`,
  { keepCase: true }
).root.lookupType("AggregatedRecord")

const splitAggregate = (
  record: StreamRecord.StreamRecord,
  variant: Variant
): Either.Either<ReadonlyArray<StreamRecord.StreamRecord>, CorruptAggregate> => {
  const corrupt = (reason: CorruptionReason, detail: string) =>
    Either.left(
      new CorruptAggregate({
        reason,
        variant,
        position: Position.of(record),
        detail
      })
    )

  const afterMagic = record.data.subarray(magicLength)
  let body: Uint8Array
  if (variant === "Compressed") {
    try {
      body = inflateSync(afterMagic, { maxOutputLength: maxInflatedBytes })
    } catch (error) {
      return corrupt("BadZlib", `zlib could not inflate its ${afterMagic.length} bytes: ${errorMessage(error)}`)
    }
  } else {
    body = afterMagic
  }
  if (body.length < md5Length) {
    const holds = variant === "Compressed" ? `it inflates to ${body.length}` : `after the magic come ${body.length}`
    return corrupt("Truncated", `${holds} bytes, fewer than the ${md5Length} of the MD5`)
  }

  // A plain view, not a Buffer, so that protobufjs hands out the parts' data as plain `Uint8Array` views too.
  const protobufBytes = new Uint8Array(body.buffer, body.byteOffset, body.length - md5Length)
  const digest = createHash("md5").update(protobufBytes).digest()
  for (let i = 0; i < md5Length; i++) {
    if (digest[i] !== body[protobufBytes.length + i]) {
      return corrupt(
        "ChecksumMismatch",
        `the MD5 of its ${protobufBytes.length} protobuf bytes is ${digest.toString("hex")}, the record says ` +
          `${Buffer.from(body.subarray(protobufBytes.length)).toString("hex")}`
      )
    }
  }

  let partitionKeys: ReadonlyArray<string>
  let entries: ReadonlyArray<{ readonly partition_key_index: unknown; readonly data: Uint8Array }>
  try {
    const decoded = AggregatedRecord.decode(protobufBytes)
    partitionKeys = decoded.partition_key_table
    entries = decoded.records
  } catch (error) {
    return corrupt("BadProtobuf", `its protobuf bytes are not an AggregatedRecord: ${errorMessage(error)}`)
  }
  const size = entries.length
  if (size === 0) return corrupt("Empty", "it holds no record")

  const parts = new Array<StreamRecord.StreamRecord>(size)
  for (let index = 0; index < size; index++) {
    const entry = entries[index]
    const keyIndex = toIndex(entry.partition_key_index)
    if (keyIndex >= partitionKeys.length) {
      return corrupt(
        "PartitionKeyOutOfRange",
        `its record at index ${index} (of ${size}) names partition key ${String(entry.partition_key_index)}, ` +
          `but the table holds ${partitionKeys.length}`
      )
    }
    parts[index] = {
      partitionKey: partitionKeys[keyIndex],
      data: entry.data,
      sequenceNumber: record.sequenceNumber,
      subSequenceNumber: record.subSequenceNumber,
      aggregate: { index, size },
      approximateArrivalTimestamp: record.approximateArrivalTimestamp,
      millisBehindLatest: record.millisBehindLatest
    }
  }
  return Either.right(parts)
}

// protobufjs reads a uint64 as a `Long` (or as a number when no long library is loaded). An index with high bits is
// past the end of every table.
const toIndex = (value: unknown): number => {
  if (typeof value === "number") return value
  if (typeof value === "object" && value !== null && "low" in value && "high" in value) {
    const { high, low } = value
    if (typeof high === "number" && typeof low === "number") return high === 0 ? low >>> 0 : Number.POSITIVE_INFINITY
  }
  return Number.POSITIVE_INFINITY
}

const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)
