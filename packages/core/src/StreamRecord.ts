/**
 * Records of a sharded stream.
 *
 * @since 0.1.0
 */
import type * as Equivalence_ from "effect/Equivalence"
import type * as Order_ from "effect/Order"
import * as Schema from "effect/Schema"
import * as Position from "./Position.js"
import type * as SequenceNumber from "./SequenceNumber.js"

/**
 * A record of a shard. It is also its own `Position`: the position fields sit on the record, so the core can keep
 * records where it needs positions without allocating anything per record.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamRecord extends Position.Position {
  /** `null` when the source has none, as the DynamoDB Streams adapter sends it. */
  readonly partitionKey: string | null
  readonly data: Uint8Array
  /** When the stream received the record, in epoch milliseconds, when the source says. */
  readonly approximateArrivalTimestamp: number | null
  /** How far behind the tip of the shard the source was when it read the record, when the source says. */
  readonly millisBehindLatest: number | null
}

const optionalNull = <S extends Schema.Schema.Any>(schema: S) =>
  Schema.optionalWith(Schema.NullOr(schema), { default: () => null })

const commonFields = {
  partitionKey: Schema.NullOr(Schema.String),
  ...Position.fields,
  approximateArrivalTimestamp: optionalNull(Schema.Finite.pipe(Schema.nonNegative())),
  millisBehindLatest: optionalNull(Schema.Finite.pipe(Schema.nonNegative()))
}

/**
 * The Schema of a record in memory: `data` is a `Uint8Array`. The optional fields default to `null`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StreamRecord = Schema.Struct({ ...commonFields, data: Schema.Uint8ArrayFromSelf }).annotations({
  identifier: "StreamRecord"
})

/**
 * The Schema of a record as JSON: `data` is standard base64. Used for NDJSON output and for reading it back.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Json = Schema.Struct({ ...commonFields, data: Schema.Uint8ArrayFromBase64 }).annotations({
  identifier: "StreamRecordJson"
})

/**
 * Makes a record. The sequence number is already validated by its type; the optional fields default to `null`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (fields: {
  readonly sequenceNumber: SequenceNumber.SequenceNumber
  readonly data: Uint8Array
  readonly partitionKey?: string | null | undefined
  readonly subSequenceNumber?: number | null | undefined
  readonly aggregate?: Position.AggregatePart | null | undefined
  readonly approximateArrivalTimestamp?: number | null | undefined
  readonly millisBehindLatest?: number | null | undefined
}): StreamRecord => ({
  partitionKey: fields.partitionKey ?? null,
  data: fields.data,
  sequenceNumber: fields.sequenceNumber,
  subSequenceNumber: fields.subSequenceNumber ?? null,
  aggregate: fields.aggregate ?? null,
  approximateArrivalTimestamp: fields.approximateArrivalTimestamp ?? null,
  millisBehindLatest: fields.millisBehindLatest ?? null
})

/**
 * Records in the order of their positions.
 *
 * @since 0.1.0
 * @category ordering
 */
export const Order: Order_.Order<StreamRecord> = Position.compare

/**
 * Equality of every field, bytes included.
 *
 * @since 0.1.0
 * @category ordering
 */
export const Equivalence: Equivalence_.Equivalence<StreamRecord> = Schema.equivalence(StreamRecord)

/**
 * The position of a record, as a value of its own (for a checkpoint that must not keep the record's data alive).
 *
 * @since 0.1.0
 * @category getters
 */
export const position: (self: StreamRecord) => Position.Position = Position.of
