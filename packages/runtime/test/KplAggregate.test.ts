import { assert, describe, it } from "@effect/vitest"
import { Position, SequenceNumber, StreamRecord } from "@flusher/core"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import { createHash } from "node:crypto"
import { deflateSync } from "node:zlib"
import protobuf from "protobufjs"
import * as KplAggregate from "../src/KplAggregate.js"

// -----------------------------------------------------------------------------
// an encoder, independent of the module under test
// -----------------------------------------------------------------------------

const AggregatedRecord = protobuf.parse(
  `syntax = "proto2";
message AggregatedRecord {
  repeated string partition_key_table = 1;
  repeated string explicit_hash_key_table = 2;
  repeated Record records = 3;
}
message Tag { required string key = 1; optional string value = 2; }
message Record {
  required uint64 partition_key_index = 1;
  optional uint64 explicit_hash_key_index = 2;
  required bytes data = 3;
  repeated Tag tags = 4;
}`,
  { keepCase: true }
).root.lookupType("AggregatedRecord")

interface UserRecord {
  readonly partitionKey: string
  readonly data: Uint8Array
}

const magic: Record<KplAggregate.Variant, Uint8Array> = {
  Standard: Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2),
  Uncompressed: Uint8Array.of(0x00, 0x89, 0x9a, 0xc2),
  Compressed: Uint8Array.of(0x01, 0x89, 0x9a, 0xc2)
}

const md5 = (bytes: Uint8Array): Uint8Array => createHash("md5").update(bytes).digest()

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => Buffer.concat(parts)

/** The protobuf bytes of an aggregate, with a shared partition key table. */
const protobufOf = (records: ReadonlyArray<UserRecord>): Uint8Array => {
  const table: Array<string> = []
  const entries = records.map((record) => {
    let index = table.indexOf(record.partitionKey)
    if (index === -1) index = table.push(record.partitionKey) - 1
    return { partition_key_index: index, data: record.data }
  })
  return AggregatedRecord.encode({ partition_key_table: table, records: entries }).finish()
}

/** Lays protobuf bytes out as a variant writes them: the magic, then the bytes and their MD5 (compressed for `01`). */
const framed = (variant: KplAggregate.Variant, protobufBytes: Uint8Array, checksum = md5(protobufBytes)) => {
  const body = concat(protobufBytes, checksum)
  return concat(magic[variant], variant === "Compressed" ? deflateSync(body) : body)
}

const encodeAggregate = (variant: KplAggregate.Variant, records: ReadonlyArray<UserRecord>) =>
  framed(variant, protobufOf(records))

// -----------------------------------------------------------------------------
// records
// -----------------------------------------------------------------------------

const sequenceNumber = SequenceNumber.unsafeMake("49590338271490256608559692538361571095921575989136588898")

const recordOf = (data: Uint8Array, overrides: Partial<StreamRecord.StreamRecord> = {}): StreamRecord.StreamRecord => ({
  ...StreamRecord.make({
    sequenceNumber,
    subSequenceNumber: 3,
    partitionKey: "outer",
    data,
    approximateArrivalTimestamp: 1_700_000_000_000,
    millisBehindLatest: 250
  }),
  ...overrides
})

const bytes = (text: string) => new TextEncoder().encode(text)

const parts = (record: StreamRecord.StreamRecord): ReadonlyArray<StreamRecord.StreamRecord> => {
  const result = KplAggregate.split(record)
  if (Either.isLeft(result)) throw new Error(result.left.message)
  return result.right
}

const corrupt = (record: StreamRecord.StreamRecord): KplAggregate.CorruptAggregate => {
  const result = KplAggregate.split(record)
  if (Either.isRight(result)) throw new Error(`split into ${result.right.length} records`)
  return result.left
}

const partOf = (
  record: StreamRecord.StreamRecord,
  partitionKey: string,
  data: Uint8Array,
  index: number,
  size: number
) => ({
  ...record,
  partitionKey,
  data,
  aggregate: { index, size }
})

// The test vector of erlmld's kpl_agg tests, with the standard magic.
const vector = Buffer.from(
  "84mawgoDcGsxCgNwazISBGVoazESBGVoazIaCwgAEAAaBWRhdGExGgsIARABGgVkYXRhMvQpXZutvjoe8N/YCBrNVgQ=",
  "base64"
)
const vectorParts = (record: StreamRecord.StreamRecord) => [
  partOf(record, "pk1", bytes("data1"), 0, 2),
  partOf(record, "pk2", bytes("data2"), 1, 2)
]

// -----------------------------------------------------------------------------
// tests
// -----------------------------------------------------------------------------

describe("KplAggregate, the test vector", () => {
  it("splits the standard aggregate into its two records, which share the aggregate's position", () => {
    const record = recordOf(vector)
    assert.strictEqual(KplAggregate.variantOf(record.data), "Standard")
    assert.deepStrictEqual(parts(record), vectorParts(record))
  })

  it("splits the same aggregate under erlmld's 00 magic", () => {
    const data = Buffer.from(vector)
    data[0] = 0x00
    assert.isTrue(data.toString("base64").startsWith("AImawg"))
    const record = recordOf(data)
    assert.strictEqual(KplAggregate.variantOf(record.data), "Uncompressed")
    assert.deepStrictEqual(parts(record), vectorParts(record))
  })

  it("splits the same aggregate compressed as erlmld's 01 magic writes it: zlib over the protobuf and its MD5", () => {
    const body = vector.subarray(4)
    const record = recordOf(concat(magic.Compressed, deflateSync(body)))
    assert.strictEqual(KplAggregate.variantOf(record.data), "Compressed")
    assert.deepStrictEqual(parts(record), vectorParts(record))
  })

  it("marks only the last part as a checkpoint position", () => {
    const [first, last] = parts(recordOf(vector))
    assert.isFalse(Position.isCheckpointable(first))
    assert.isTrue(Position.isCheckpointable(last))
  })
})

const userRecords = fc.array(
  fc.record({
    partitionKey: fc.constantFrom("a", "b", "c", "", "κλειδί"),
    data: fc.uint8Array({ maxLength: 40 })
  }),
  { minLength: 1, maxLength: 12 }
)
const variant = fc.constantFrom<KplAggregate.Variant>("Standard", "Uncompressed", "Compressed")

describe("KplAggregate, round trips", () => {
  it.prop("gives back every record of a generated aggregate, in order, in all three variants", [userRecords, variant], (
    [records, kind]
  ) => {
    const record = recordOf(encodeAggregate(kind, records))
    const split = parts(record)
    assert.strictEqual(split.length, records.length)
    split.forEach((part, index) => {
      assert.deepStrictEqual(
        part,
        partOf(record, records[index].partitionKey, records[index].data, index, records.length)
      )
    })
  })

  it("ignores explicit hash keys and tags", () => {
    const protobufBytes = AggregatedRecord.encode({
      partition_key_table: ["k"],
      explicit_hash_key_table: ["123"],
      records: [{
        partition_key_index: 0,
        explicit_hash_key_index: 0,
        data: bytes("x"),
        tags: [{ key: "t", value: "v" }]
      }]
    }).finish()
    const record = recordOf(framed("Standard", protobufBytes))
    assert.deepStrictEqual(parts(record), [partOf(record, "k", bytes("x"), 0, 1)])
  })
})

describe("KplAggregate, records that are not aggregates", () => {
  it("come back alone and untouched", () => {
    for (
      const data of [
        bytes("hello, world"),
        new Uint8Array(0),
        Uint8Array.of(0xf3, 0x89, 0x9a),
        Uint8Array.of(0x02, 0x89, 0x9a, 0xc2, 0, 0),
        Uint8Array.of(0xf3, 0x89, 0x9a, 0xc3, 0, 0)
      ]
    ) {
      const record = recordOf(data)
      assert.isNull(KplAggregate.variantOf(data))
      assert.isFalse(KplAggregate.isAggregate(record))
      const split = parts(record)
      assert.strictEqual(split.length, 1)
      assert.strictEqual(split[0], record)
    }
  })

  it("include a part already split out of an aggregate, whatever its bytes start with", () => {
    const record = recordOf(vector, { aggregate: { index: 0, size: 2 } })
    assert.isFalse(KplAggregate.isAggregate(record))
    assert.strictEqual(parts(record)[0], record)
  })

  it("leave a batch without aggregates as the very same array", () => {
    const batch = [recordOf(bytes("a")), recordOf(bytes("b")), recordOf(new Uint8Array(0))]
    assert.strictEqual(Either.getOrThrow(KplAggregate.splitAll(batch)), batch)
    const empty: ReadonlyArray<StreamRecord.StreamRecord> = []
    assert.strictEqual(Either.getOrThrow(KplAggregate.splitAll(empty)), empty)
  })
})

describe("KplAggregate, batches", () => {
  it("splits the aggregates of a batch in place, keeping the order of everything", () => {
    const plain = recordOf(bytes("plain"), { sequenceNumber: SequenceNumber.unsafeMake("1") })
    const standard = recordOf(vector, { sequenceNumber: SequenceNumber.unsafeMake("2") })
    const compressed = recordOf(
      encodeAggregate("Compressed", [{ partitionKey: "z", data: bytes("zz") }]),
      { sequenceNumber: SequenceNumber.unsafeMake("3") }
    )
    const last = recordOf(bytes("last"), { sequenceNumber: SequenceNumber.unsafeMake("4") })
    const batch = [plain, standard, compressed, last]
    assert.deepStrictEqual(Either.getOrThrow(KplAggregate.splitAll(batch)), [
      plain,
      ...vectorParts(standard),
      partOf(compressed, "z", bytes("zz"), 0, 1),
      last
    ])
    assert.deepStrictEqual(batch, [plain, standard, compressed, last])
  })

  it("fails on the first corrupt aggregate, naming its position", () => {
    const broken = Buffer.from(vector)
    broken[broken.length - 1] ^= 0xff
    const batch = [
      recordOf(bytes("fine"), { sequenceNumber: SequenceNumber.unsafeMake("10") }),
      recordOf(broken, { sequenceNumber: SequenceNumber.unsafeMake("11"), subSequenceNumber: 2 })
    ]
    const result = KplAggregate.splitAll(batch)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left.reason, "ChecksumMismatch")
      assert.deepStrictEqual(result.left.position, Position.make(SequenceNumber.unsafeMake("11"), 2))
      assert.include(result.left.message, "The record at 11.2 is a KPL aggregate")
    }
  })
})

describe("KplAggregate, corrupt aggregates", () => {
  const expectCorrupt = (data: Uint8Array, reason: KplAggregate.CorruptionReason, fragment: string) => {
    const error = corrupt(recordOf(data))
    assert.strictEqual(error._tag, "CorruptAggregate")
    assert.strictEqual(error.reason, reason)
    assert.deepStrictEqual(error.position, Position.make(sequenceNumber, 3))
    assert.include(error.message, `${sequenceNumber}.3`)
    assert.include(error.message, fragment)
    return error
  }

  it("refuses a wrong MD5, or protobuf bytes that do not match theirs", () => {
    const badChecksum = Buffer.from(vector)
    badChecksum[badChecksum.length - 5] ^= 0x01
    expectCorrupt(badChecksum, "ChecksumMismatch", "the MD5 of its")
    const badBody = Buffer.from(vector)
    badBody[10] ^= 0x01
    expectCorrupt(badBody, "ChecksumMismatch", "the record says")
    const compressed = framed("Compressed", protobufOf([{ partitionKey: "a", data: bytes("b") }]), new Uint8Array(16))
    expectCorrupt(compressed, "ChecksumMismatch", "the MD5 of its")
  })

  it("refuses an aggregate too short to hold its MD5", () => {
    expectCorrupt(magic.Standard, "Truncated", "fewer than the 16 of the MD5")
    expectCorrupt(vector.subarray(0, 19), "Truncated", "after the magic come 15 bytes")
    expectCorrupt(concat(magic.Compressed, deflateSync(new Uint8Array(10))), "Truncated", "it inflates to 10 bytes")
  })

  it("refuses a compressed aggregate that does not inflate, or inflates too far", () => {
    expectCorrupt(concat(magic.Compressed, bytes("not zlib at all")), "BadZlib", "zlib could not inflate")
    const whole = encodeAggregate("Compressed", [{ partitionKey: "a", data: bytes("some data") }])
    expectCorrupt(whole.subarray(0, whole.length - 6), "BadZlib", "zlib could not inflate")
    const bomb = concat(magic.Compressed, deflateSync(new Uint8Array(KplAggregate.maxInflatedBytes + 1)))
    expectCorrupt(bomb, "BadZlib", "zlib could not inflate")
  })

  it("refuses protobuf bytes that are not an AggregatedRecord, even with a matching MD5", () => {
    expectCorrupt(framed("Standard", Uint8Array.of(0xff, 0xff, 0xff)), "BadProtobuf", "not an AggregatedRecord")
    // A table with "a", and one record with a partition key index and no data.
    const withoutData = Uint8Array.of(0x0a, 0x01, 0x61, 0x1a, 0x02, 0x08, 0x00)
    expectCorrupt(framed("Uncompressed", withoutData), "BadProtobuf", "missing required 'data'")
    const truncatedField = Uint8Array.of(0x0a, 0x05, 0x61)
    expectCorrupt(framed("Standard", truncatedField), "BadProtobuf", "not an AggregatedRecord")
  })

  it("refuses a record whose partition key index is out of the table", () => {
    const outOfTable = AggregatedRecord.encode({
      partition_key_table: ["a", "b"],
      records: [{ partition_key_index: 1, data: bytes("x") }, { partition_key_index: 2, data: bytes("y") }]
    }).finish()
    expectCorrupt(
      framed("Standard", outOfTable),
      "PartitionKeyOutOfRange",
      "its record at index 1 (of 2) names partition key 2"
    )
    const huge = AggregatedRecord.encode({
      partition_key_table: ["a"],
      records: [{ partition_key_index: 2 ** 40, data: bytes("x") }]
    }).finish()
    expectCorrupt(framed("Compressed", huge), "PartitionKeyOutOfRange", "the table holds 1")
  })

  it("refuses an aggregate without records", () => {
    expectCorrupt(framed("Standard", new Uint8Array(0)), "Empty", "it holds no record")
    expectCorrupt(framed("Compressed", protobufOf([])), "Empty", "it holds no record")
  })
})
