import { assert, describe, it } from "@effect/vitest"
import { Checkpoint, FlushMode, Position, SequenceNumber, ShardId, StreamRecord } from "@flusher/core"
import { Arbitraries } from "@flusher/testing"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const problem = <A, I>(schema: Schema.Schema<A, I>, input: unknown): string => {
  const decoded = Schema.decodeUnknownEither(schema)(input)
  if (Either.isRight(decoded)) throw new Error(`${JSON.stringify(input)} was accepted`)
  return ParseResult.TreeFormatter.formatErrorSync(decoded.left)
}

const seq = SequenceNumber.unsafeMake

describe("ShardId", () => {
  it("accepts Kinesis and DynamoDB Streams shard ids", () => {
    for (const id of ["shardId-000000000001", "shardId-00000001536019433395-1c7f4d6e"]) {
      assert.strictEqual(Schema.decodeSync(ShardId.ShardId)(id), id)
    }
  })

  it("refuses ids that would escape a directory or are empty", () => {
    for (const id of ["", ".", "..", "a/b", "../x", "a b"]) assert.include(problem(ShardId.ShardId, id), "shard id")
  })
})

describe("Position", () => {
  it("refuses a negative sub-sequence number, naming the field", () => {
    const message = problem(Position.Position, { sequenceNumber: "1", subSequenceNumber: -1 })
    assert.include(message, "[\"subSequenceNumber\"]")
    assert.include(message, "cannot be negative")
  })

  it("refuses an aggregate index that is not below its size, naming the field", () => {
    const message = problem(Position.Position, { sequenceNumber: "1", aggregate: { index: 3, size: 3 } })
    assert.include(message, "[\"aggregate\"]")
    assert.include(message, "[\"index\"]")
    assert.include(message, "below the aggregate's size (3), got 3")
  })

  it("defaults the sub-sequence number and the aggregate part to null", () => {
    assert.deepStrictEqual(Schema.decodeSync(Position.Position)({ sequenceNumber: "5" }), Position.make(seq("5")))
  })

  it("orders by sequence number, then sub-sequence number, then aggregate index", () => {
    const sorted = [
      Position.make(seq("9")),
      Position.make(seq("10"), 0),
      Position.make(seq("10"), 0, { index: 1, size: 2 }),
      Position.make(seq("10"), 1),
      Position.make(seq("0011"), 0)
    ]
    for (let i = 0; i < sorted.length; i++) {
      for (let j = 0; j < sorted.length; j++) {
        assert.strictEqual(Position.compare(sorted[i], sorted[j]), i === j ? 0 : i < j ? -1 : 1, `${i} vs ${j}`)
        assert.strictEqual(Position.isAfter(sorted[i], sorted[j]), i > j, `${i} after ${j}`)
      }
    }
    assert.strictEqual(Position.compare(Position.make(seq("10"), null), Position.make(seq("10"), 0)), 0)
  })

  it("checkpoints only the last part of an aggregate the worker split, unless sub-record checkpoints are on", () => {
    const part = (index: number) => Position.make(seq("77"), 0, { index, size: 3 })
    assert.isFalse(Position.isCheckpointable(part(0)))
    assert.isFalse(Position.isCheckpointable(part(1)))
    assert.isTrue(Position.isCheckpointable(part(2)))
    assert.isTrue(Position.isCheckpointable(part(0), true))
    assert.isTrue(Position.isCheckpointable(Position.make(seq("77"), 4)))
  })

  it.prop("gives distinct positions distinct text forms", [Arbitraries.ascendingPositions({ aggregates: true })], (
    [positions]
  ) => {
    assert.strictEqual(new Set(positions.map(Position.format)).size, positions.length)
  })
})

describe("StreamRecord", () => {
  it("decodes the JSON form with base64 data, a null partition key and defaults", () => {
    const record = Schema.decodeUnknownSync(StreamRecord.Json)({
      partitionKey: null,
      data: "aGVsbG8=",
      sequenceNumber: "0042"
    })
    assert.strictEqual(new TextDecoder().decode(record.data), "hello")
    assert.isNull(record.partitionKey)
    assert.isNull(record.subSequenceNumber)
    assert.isNull(record.approximateArrivalTimestamp)
    assert.isNull(record.millisBehindLatest)
  })

  it("refuses data that is not base64, naming the field", () => {
    const message = problem(StreamRecord.Json, { partitionKey: "k", data: "not base64!", sequenceNumber: "1" })
    assert.include(message, "[\"data\"]")
  })

  it.prop("round-trips records through JSON", [Arbitrary.make(StreamRecord.StreamRecord)], ([record]) => {
    const json = JSON.parse(JSON.stringify(Schema.encodeSync(StreamRecord.Json)(record)))
    assert.isTrue(StreamRecord.Equivalence(Schema.decodeUnknownSync(StreamRecord.Json)(json), record))
  })
})

describe("Checkpoint", () => {
  it.prop("round-trips through its Schema", [
    fc.oneof(
      Arbitraries.sequenceNumber.map((s) => Checkpoint.atPosition(Position.make(s, 0))),
      fc.constant(Checkpoint.shardEnd)
    )
  ], ([checkpoint]) => {
    const decoded = Schema.decodeUnknownSync(Checkpoint.Checkpoint)(
      JSON.parse(JSON.stringify(Schema.encodeSync(Checkpoint.Checkpoint)(checkpoint)))
    )
    assert.strictEqual(Checkpoint.compare(decoded, checkpoint), 0)
  })

  it("orders the end of the shard after every position", () => {
    const at = Checkpoint.atPosition(Position.make(seq("9".repeat(129))))
    assert.strictEqual(Checkpoint.compare(Checkpoint.shardEnd, at), 1)
    assert.strictEqual(Checkpoint.compare(at, Checkpoint.shardEnd), -1)
    assert.strictEqual(Checkpoint.format(Checkpoint.shardEnd), "SHARD_END")
  })
})

describe("FlushMode", () => {
  it("is partial or full", () => {
    assert.strictEqual(Schema.decodeUnknownSync(FlushMode.FlushMode)("full"), "full")
    assert.include(problem(FlushMode.FlushMode, "all"), "\"partial\" | \"full\"")
  })
})
