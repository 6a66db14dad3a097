/**
 * fast-check arbitraries for the domain types: shard ids, ascending sequence numbers (up to 129 digits), KPL
 * aggregates and their sub-records, and records.
 *
 * @since 0.1.0
 */
import { Position, SequenceNumber, ShardId, StreamRecord } from "@flusher/core"
import * as Arbitrary from "effect/Arbitrary"
import * as fc from "effect/FastCheck"

/**
 * Shard ids, derived from the `ShardId` Schema.
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const shardId: fc.Arbitrary<ShardId.ShardId> = Arbitrary.make(ShardId.ShardId)

/**
 * Single sequence numbers, derived from the `SequenceNumber` Schema: small ones, the 64- and 128-bit edges,
 * 56-digit ones like Kinesis issues, and up to 129 digits, some padded with leading zeros.
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const sequenceNumber: fc.Arbitrary<SequenceNumber.SequenceNumber> = Arbitrary.make(
  SequenceNumber.SequenceNumber
)

/**
 * How the records of a generated shard are laid out.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordsOptions {
  readonly minLength?: number
  /** The most positions (an aggregate takes several records but one position). Default 50. */
  readonly maxLength?: number
  /**
   * How far toward `maxLength` lengths go: fast-check's `size`. Default fast-check's own (`"small"`, about ten
   * positions); `"max"` draws lengths across the whole range.
   */
  readonly size?: fc.SizeForArbitrary | undefined
  /** The largest `data`, in bytes. Default 64. */
  readonly maxDataSize?: number
  /** The partition keys to draw from; `null` stands for a record without one. Default `["a", "b", "c", null]`. */
  readonly partitionKeys?: ReadonlyArray<string | null>
  /** Whether to generate KPL aggregates: parts split by the daemon (sub-sequence numbers) or by the worker. */
  readonly aggregates?: boolean
  /** The first sequence number. Default: drawn among small, 128-bit and 56-digit values. */
  readonly start?: bigint
}

/**
 * A layout step: how far the next sequence number is from the previous one, and what sits there.
 *
 * @since 0.1.0
 * @category models
 */
type Slot =
  | { readonly kind: "plain"; readonly gap: bigint }
  | { readonly kind: "daemonSplit"; readonly gap: bigint; readonly parts: number }
  | { readonly kind: "workerSplit"; readonly gap: bigint; readonly parts: number; readonly subSequenceNumber: number }

const slot = (aggregates: boolean): fc.Arbitrary<Slot> => {
  const gap = fc.bigInt({ min: 1n, max: 1_000_000n })
  const plain = gap.map((g): Slot => ({ kind: "plain", gap: g }))
  if (!aggregates) return plain
  return fc.oneof(
    { arbitrary: plain, weight: 6 },
    {
      arbitrary: fc.tuple(gap, fc.integer({ min: 1, max: 5 })).map(([g, parts]): Slot => ({
        kind: "daemonSplit",
        gap: g,
        parts
      })),
      weight: 1
    },
    {
      arbitrary: fc.tuple(gap, fc.integer({ min: 1, max: 5 }), fc.nat({ max: 3 })).map((
        [g, parts, subSequenceNumber]
      ): Slot => ({ kind: "workerSplit", gap: g, parts, subSequenceNumber })),
      weight: 1
    }
  )
}

const startValue = fc.oneof(
  fc.bigInt({ min: 0n, max: 1000n }),
  fc.bigInt({ min: 2n ** 128n - 10_000_000n, max: 2n ** 128n + 10_000_000n }),
  fc.bigInt({ min: 10n ** 55n, max: 10n ** 56n - 10n ** 50n })
)

/**
 * Positions in ascending order, as one shard delivers them.
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const ascendingPositions = (options: RecordsOptions = {}): fc.Arbitrary<ReadonlyArray<Position.Position>> =>
  fc.tuple(
    options.start === undefined ? startValue : fc.constant(options.start),
    fc.array(slot(options.aggregates ?? false), {
      minLength: options.minLength ?? 0,
      maxLength: options.maxLength ?? 50,
      ...(options.size === undefined ? {} : { size: options.size })
    })
  ).map(([start, slots]) => {
    const positions: Array<Position.Position> = []
    let value = start
    for (const s of slots) {
      value += s.gap
      const sequenceNumber = value.toString() as SequenceNumber.SequenceNumber
      switch (s.kind) {
        case "plain":
          positions.push(Position.make(sequenceNumber, 0))
          break
        case "daemonSplit":
          for (let part = 0; part < s.parts; part++) positions.push(Position.make(sequenceNumber, part))
          break
        case "workerSplit":
          for (let index = 0; index < s.parts; index++) {
            positions.push(Position.make(sequenceNumber, s.subSequenceNumber, { index, size: s.parts }))
          }
          break
      }
    }
    return positions
  })

/**
 * Records in ascending order of position, as one shard delivers them.
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const records = (options: RecordsOptions = {}): fc.Arbitrary<ReadonlyArray<StreamRecord.StreamRecord>> => {
  const keys = options.partitionKeys ?? ["a", "b", "c", null]
  const maxDataSize = options.maxDataSize ?? 64
  return ascendingPositions(options).chain((positions) =>
    fc.tuple(
      fc.array(fc.constantFrom(...keys), { minLength: positions.length, maxLength: positions.length }),
      fc.array(fc.nat({ max: maxDataSize }), { minLength: positions.length, maxLength: positions.length })
    ).map(([partitionKeys, sizes]) =>
      positions.map((position, i) =>
        StreamRecord.make({
          ...position,
          partitionKey: partitionKeys[i],
          data: dataOfSize(sizes[i], i)
        })
      )
    )
  )
}

// Deterministic bytes: shrinking and replay need no randomness here, and equal sizes stay distinguishable.
const dataOfSize = (size: number, seed: number): Uint8Array => {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (seed * 31 + i) & 0xff
  return data
}
