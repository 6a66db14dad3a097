import { assert, describe, it } from "@effect/vitest"
import { BatchingFlusher, type Flusher } from "@flusher/core"
import { numberOf, record, shardId, token } from "./fixtures.js"

type Result = Flusher.AddResult<BatchingFlusher.State, BatchingFlusher.RecordTooLarge>

const stateOf = (result: Result): BatchingFlusher.State => {
  if (result._tag !== "Added" && result._tag !== "Ignored") throw new Error(`expected a state, got ${result._tag}`)
  return result.state
}

const addAll = (flusher: ReturnType<typeof BatchingFlusher.make>, count: number, now = 0) => {
  let state = flusher.init(shardId)
  for (let i = 0; i < count; i++) state = stateOf(flusher.add(state, record(i), token(i), now))
  return state
}

describe("BatchingFlusher", () => {
  it("answers Full when a batch holds maxRecords records, and takes the record again after a flush", () => {
    const flusher = BatchingFlusher.make({ maxRecords: 3 })
    const state = addAll(flusher, 3)
    assert.strictEqual(flusher.add(state, record(3), token(3), 0)._tag, "Full")
    const flushed = flusher.flush(state, "partial")
    assert.strictEqual(flushed._tag, "Flushed")
    if (flushed._tag !== "Flushed") return
    assert.deepStrictEqual(flushed.tokens, [token(0), token(1), token(2)])
    assert.deepStrictEqual(flushed.batch.map(numberOf), [0, 1, 2])
    assert.strictEqual(flusher.add(flushed.state, record(3), token(3), 0)._tag, "Added")
  })

  it("answers Full when a record would take the batch past maxBytes, by the weigher", () => {
    const flusher = BatchingFlusher.make({ maxBytes: 25, weigher: (r) => r.data.length + 1 })
    let state = flusher.init(shardId)
    state = stateOf(flusher.add(state, record(0, { size: 10 }), token(0), 0))
    state = stateOf(flusher.add(state, record(1, { size: 10 }), token(1), 0))
    assert.strictEqual(flusher.add(state, record(2, { size: 3 }), token(2), 0)._tag, "Full")
    assert.strictEqual(flusher.add(state, record(2, { size: 2 }), token(2), 0)._tag, "Added")
  })

  it("refuses a record larger than a whole batch with RecordTooLarge, even when the batch is empty", () => {
    const flusher = BatchingFlusher.make({ maxBytes: 100 })
    const result = flusher.add(flusher.init(shardId), record(9, { size: 101 }), token(0), 0)
    assert.strictEqual(result._tag, "Failed")
    if (result._tag !== "Failed") return
    assert.strictEqual(result.error._tag, "RecordTooLarge")
    assert.strictEqual(result.error.weight, 101)
    assert.include(result.error.message, "weighs 101 bytes")
    assert.include(result.error.message, "Raise maxBytes")
  })

  it("flushes on a heartbeat once the first record is maxAge old, measured by now", () => {
    const flusher = BatchingFlusher.make({ maxAge: "30 seconds" })
    let state = flusher.init(shardId)
    state = stateOf(flusher.add(state, record(0), token(0), 1_000))
    state = stateOf(flusher.add(state, record(1), token(1), 20_000))
    assert.strictEqual(flusher.heartbeat(state, 30_999)._tag, "NotFlushed")
    const due = flusher.heartbeat(state, 31_000)
    assert.strictEqual(due._tag, "Flushed")
    if (due._tag === "Flushed") assert.deepStrictEqual(due.tokens, [token(0), token(1)])
  })

  it("answers Full to a record offered to a batch that reached maxAge", () => {
    const flusher = BatchingFlusher.make({ maxAge: 1000 })
    const state = stateOf(flusher.add(flusher.init(shardId), record(0), token(0), 0))
    assert.strictEqual(flusher.add(state, record(1), token(1), 999)._tag, "Added")
    assert.strictEqual(flusher.add(state, record(1), token(1), 1000)._tag, "Full")
  })

  it("flushes nothing when empty, on a flush or a heartbeat", () => {
    const flusher = BatchingFlusher.make({ maxAge: 1 })
    const empty = flusher.init(shardId)
    assert.strictEqual(flusher.flush(empty, "full")._tag, "NotFlushed")
    assert.strictEqual(flusher.heartbeat(empty, 1e12)._tag, "NotFlushed")
  })

  it("keeps earlier states valid: adding to an old state does not change what a newer one flushes", () => {
    const flusher = BatchingFlusher.make()
    const two = addAll(flusher, 2)
    const three = stateOf(flusher.add(two, record(2), token(2), 0))
    const branch = stateOf(flusher.add(two, record(7), token(7), 0))
    const fromThree = flusher.flush(three, "full")
    const fromBranch = flusher.flush(branch, "full")
    const fromTwo = flusher.flush(two, "full")
    assert.deepStrictEqual(fromThree._tag === "Flushed" && fromThree.tokens, [token(0), token(1), token(2)])
    assert.deepStrictEqual(fromBranch._tag === "Flushed" && fromBranch.tokens, [token(0), token(1), token(7)])
    assert.deepStrictEqual(fromTwo._tag === "Flushed" && fromTwo.tokens, [token(0), token(1)])
  })

  it("refuses limits that are not positive", () => {
    assert.throws(() => BatchingFlusher.make({ maxRecords: 0 }), /maxRecords must be a positive number/)
    assert.throws(() => BatchingFlusher.make({ maxBytes: -1 }), /maxBytes must be a positive number/)
  })
})
