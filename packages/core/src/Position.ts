/**
 * Where a record sits in its shard: the sequence number, the daemon's sub-sequence number, and, for a record the
 * worker split out of an aggregate, which part of the aggregate it is.
 *
 * @since 0.1.0
 */
import type * as Equivalence_ from "effect/Equivalence"
import type * as Order_ from "effect/Order"
import * as Schema from "effect/Schema"
import * as SequenceNumber from "./SequenceNumber.js"

/**
 * The sub-sequence number the KCL gives each sub-record of a KPL aggregate it split (0 for a plain record).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SubSequenceNumber = Schema.Int.pipe(
  Schema.nonNegative({ message: () => "a sub-sequence number cannot be negative" }),
  Schema.annotations({ identifier: "SubSequenceNumber" })
)

/**
 * A record the worker split out of an aggregate: its index among the aggregate's records, and how many there are.
 * Every part shares the aggregate's sequence and sub-sequence numbers.
 *
 * @since 0.1.0
 * @category models
 */
export interface AggregatePart {
  readonly index: number
  readonly size: number
}

/**
 * The Schema of an aggregate part; refuses an index that is not below the size.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AggregatePart: Schema.Schema<AggregatePart> = Schema.Struct({
  index: Schema.NonNegativeInt,
  size: Schema.Int.pipe(Schema.positive())
}).pipe(
  Schema.filter(
    (part) =>
      part.index < part.size ||
      {
        path: ["index"],
        message: `an aggregate part's index must be below the aggregate's size (${part.size}), got ${part.index}`
      },
    { identifier: "AggregatePart" }
  )
)

/**
 * The position of a record in its shard.
 *
 * @since 0.1.0
 * @category models
 */
export interface Position {
  readonly sequenceNumber: SequenceNumber.SequenceNumber
  /** `null` when the source has none (the DynamoDB Streams adapter); it orders as 0. */
  readonly subSequenceNumber: number | null
  /** Set only on records the worker split out of an aggregate. */
  readonly aggregate: AggregatePart | null
}

/**
 * The fields of a position, shared by the `Position` and `StreamRecord` Schemas. The sub-sequence number and the
 * aggregate part may be left out of the encoded form.
 *
 * @since 0.1.0
 * @category schemas
 */
export const fields = {
  sequenceNumber: SequenceNumber.SequenceNumber,
  subSequenceNumber: Schema.optionalWith(Schema.NullOr(SubSequenceNumber), { default: () => null }),
  aggregate: Schema.optionalWith(Schema.NullOr(AggregatePart), { default: () => null })
}

/**
 * The Schema of a position.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Position = Schema.Struct(fields).annotations({ identifier: "Position" })

/**
 * Makes a position from a sequence number, and optionally a sub-sequence number and an aggregate part.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  sequenceNumber: SequenceNumber.SequenceNumber,
  subSequenceNumber: number | null = null,
  aggregate: AggregatePart | null = null
): Position => ({ sequenceNumber, subSequenceNumber, aggregate })

/**
 * A position of its own, copied from anything that has one (a record, say): kept in an error, an outcome or a
 * checkpoint, it does not keep the record's data alive.
 *
 * @since 0.1.0
 * @category constructors
 */
export const of = (self: Position): Position => make(self.sequenceNumber, self.subSequenceNumber, self.aggregate)

/**
 * Compares positions: by sequence number, then sub-sequence number (`null` as 0), then aggregate index (a record
 * that is not an aggregate part as index 0).
 *
 * @since 0.1.0
 * @category ordering
 */
export const compare = (self: Position, that: Position): -1 | 0 | 1 => {
  const bySequence = SequenceNumber.compare(self.sequenceNumber, that.sequenceNumber)
  if (bySequence !== 0) return bySequence
  const selfSub = self.subSequenceNumber ?? 0
  const thatSub = that.subSequenceNumber ?? 0
  if (selfSub !== thatSub) return selfSub < thatSub ? -1 : 1
  const selfIndex = self.aggregate === null ? 0 : self.aggregate.index
  const thatIndex = that.aggregate === null ? 0 : that.aggregate.index
  return selfIndex === thatIndex ? 0 : selfIndex < thatIndex ? -1 : 1
}

/**
 * Whether `self` comes strictly after `that`. The same as `compare(self, that) > 0`, but cheaper in the common case
 * of ascending, unpadded sequence numbers of equal length: one string comparison, where `compare` needs two.
 *
 * @since 0.1.0
 * @category ordering
 */
export const isAfter = (self: Position, that: Position): boolean => {
  const a = self.sequenceNumber
  const b = that.sequenceNumber
  if (a.length === b.length && a.charCodeAt(0) !== 48 && b.charCodeAt(0) !== 48) {
    if (a > b) return true
    if (a !== b) return false
    return compare(self, that) > 0
  }
  return compare(self, that) > 0
}

/**
 * The order of positions in a shard.
 *
 * @since 0.1.0
 * @category ordering
 */
export const Order: Order_.Order<Position> = compare

/**
 * Equality of positions, with the same rules as the order.
 *
 * @since 0.1.0
 * @category ordering
 */
export const Equivalence: Equivalence_.Equivalence<Position> = (self, that) => compare(self, that) === 0

/**
 * Tells whether a shard may be checkpointed at this position.
 *
 * A record the worker split out of an aggregate shares its aggregate's sequence and sub-sequence numbers, so a
 * checkpoint at one of its parts names the whole aggregate: on restart the source resumes after it and the parts
 * not yet written are lost. Only the last part may be checkpointed, unless `subRecordCheckpoints` is set (for a
 * checkpointer that stores the aggregate index too).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isCheckpointable = (self: Position, subRecordCheckpoints = false): boolean =>
  self.aggregate === null || subRecordCheckpoints || self.aggregate.index === self.aggregate.size - 1

/**
 * A compact text form, safe in a file name: `sequence`, `sequence.sub` when the sub-sequence number is not 0, and
 * `sequence.sub.index` for an aggregate part. Distinct positions have distinct forms.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (self: Position): string => {
  const sequence = SequenceNumber.canonical(self.sequenceNumber)
  if (self.aggregate !== null) return `${sequence}.${self.subSequenceNumber ?? 0}.${self.aggregate.index}`
  const sub = self.subSequenceNumber ?? 0
  return sub === 0 ? sequence : `${sequence}.${sub}`
}
