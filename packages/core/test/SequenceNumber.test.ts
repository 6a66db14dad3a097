import { assert, describe, it } from "@effect/vitest"
import { SequenceNumber, StreamRecord } from "@flusher/core"
import { Arbitraries } from "@flusher/testing"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const decode = Schema.decodeUnknownEither(SequenceNumber.SequenceNumber)
const sign = (n: bigint): -1 | 0 | 1 => (n === 0n ? 0 : n < 0n ? -1 : 1)

describe("SequenceNumber", () => {
  it("decodes and encodes decimal strings unchanged", () => {
    for (const input of ["0", "7", "000123", "49590338271490256608559692538361571095921575989136588898"]) {
      const decoded = decode(input)
      assert.isTrue(Either.isRight(decoded))
      assert.strictEqual(Schema.encodeSync(SequenceNumber.SequenceNumber)(Either.getOrThrow(decoded)), input)
    }
  })

  it("accepts the 128-bit edges and the longest number Kinesis documents", () => {
    for (const value of [2n ** 128n - 1n, 2n ** 128n, 10n ** 129n - 1n]) {
      assert.isTrue(Either.isRight(decode(value.toString())), value.toString())
    }
  })

  it("refuses a sign, letters, an empty string, a number and more than 129 digits", () => {
    for (const input of ["", "-1", "+1", "12a", " 1", "1.5", "1e3", "0x10", "1".repeat(130), 5, null]) {
      const decoded = decode(input)
      assert.isTrue(Either.isLeft(decoded), `${JSON.stringify(input)} was accepted`)
    }
  })

  it("says why it refuses", () => {
    assert.match(SequenceNumber.validate("12a4")!, /only the digits 0-9, found "a" at index 2/)
    assert.match(SequenceNumber.validate("")!, /cannot be empty/)
    assert.match(SequenceNumber.validate("9".repeat(130))!, /at most 129 significant digits, got 130/)
  })

  it("names the field in a record's decoding error", () => {
    const decoded = Schema.decodeUnknownEither(StreamRecord.Json)({
      partitionKey: "pk",
      data: "",
      sequenceNumber: "-42"
    })
    assert.isTrue(Either.isLeft(decoded))
    if (Either.isLeft(decoded)) {
      const message = ParseResult.TreeFormatter.formatErrorSync(decoded.left)
      assert.include(message, "[\"sequenceNumber\"]")
      assert.include(message, "only the digits 0-9")
    }
  })

  it("ignores leading zeros when comparing", () => {
    assert.strictEqual(SequenceNumber.compare("007", "7"), 0)
    assert.strictEqual(SequenceNumber.compare("0010", "9"), 1)
    assert.strictEqual(SequenceNumber.compare("000", "0"), 0)
    assert.strictEqual(SequenceNumber.compare("0000000000000000000001", "2"), -1)
    assert.isTrue(SequenceNumber.Equivalence(SequenceNumber.unsafeMake("00042"), SequenceNumber.unsafeMake("42")))
    assert.strictEqual(SequenceNumber.canonical(SequenceNumber.unsafeMake("00042")), "42")
  })

  it.prop("orders as BigInt does, on generated numbers", [Arbitraries.sequenceNumber, Arbitraries.sequenceNumber], (
    [a, b]
  ) => {
    assert.strictEqual(SequenceNumber.compare(a, b), sign(BigInt(a) - BigInt(b)))
  })

  it.prop(
    "orders as BigInt does around the 64- and 128-bit edges",
    [fc.bigInt({ min: -1000n, max: 1000n }), fc.bigInt({ min: -1000n, max: 1000n }), fc.constantFrom(64n, 128n)],
    ([x, y, bits]) => {
      const a = (2n ** bits + x).toString()
      const b = (2n ** bits + y).toString()
      assert.strictEqual(SequenceNumber.compare(a, b), sign(BigInt(a) - BigInt(b)))
    }
  )

  it.prop("round-trips every generated number", [Arbitraries.sequenceNumber], ([value]) => {
    const encoded = Schema.encodeSync(SequenceNumber.SequenceNumber)(value)
    assert.strictEqual(Schema.decodeSync(SequenceNumber.SequenceNumber)(encoded), value)
  })
})
