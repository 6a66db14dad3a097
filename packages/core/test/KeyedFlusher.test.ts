import { assert, describe, it } from "@effect/vitest"
import { type Flusher, KeyedFlusher } from "@flusher/core"
import { numberOf, record, shardId, token } from "./fixtures.js"

type Result = Flusher.AddResult<KeyedFlusher.State, unknown>

const stateOf = (result: Result): KeyedFlusher.State => {
  if (result._tag !== "Added" && result._tag !== "Ignored") throw new Error(`expected a state, got ${result._tag}`)
  return result.state
}

const keysOf = (result: Flusher.FlushResult<KeyedFlusher.State, KeyedFlusher.Batch, unknown>) =>
  result._tag === "Flushed" ? result.batch.map((b) => `${b.key}:${b.records.map(numberOf).join(",")}`) : []

describe("KeyedFlusher", () => {
  const flusher = KeyedFlusher.make({ maxRecords: 3, maxAge: "10 seconds" })
  const add = (state: KeyedFlusher.State, n: number, key: string, now = 0) =>
    stateOf(flusher.add(state, record(n, { partitionKey: key }), token(n), now))

  it("keeps one batch per key; a partial flush writes only the fullest", () => {
    let state = flusher.init(shardId)
    state = add(state, 0, "a")
    state = add(state, 1, "b")
    state = add(state, 2, "b")
    state = add(state, 3, "c")
    const partial = flusher.flush(state, "partial")
    assert.deepStrictEqual(keysOf(partial), ["b:1,2"])
    assert.deepStrictEqual(partial._tag === "Flushed" && partial.tokens, [token(1), token(2)])
    if (partial._tag !== "Flushed") return
    assert.deepStrictEqual(keysOf(flusher.flush(partial.state, "full")).sort(), ["a:0", "c:3"])
  })

  it("writes every key's batch on a full flush", () => {
    let state = flusher.init(shardId)
    for (let n = 0; n < 6; n++) state = add(state, n, n % 2 === 0 ? "even" : "odd")
    const full = flusher.flush(state, "full")
    assert.deepStrictEqual(keysOf(full).sort(), ["even:0,2,4", "odd:1,3,5"])
    if (full._tag === "Flushed") assert.strictEqual(flusher.flush(full.state, "full")._tag, "NotFlushed")
  })

  it("seals a key's full batch; the next record answers Full and a partial flush writes the sealed batch", () => {
    let state = flusher.init(shardId)
    state = add(state, 0, "a")
    state = add(state, 1, "a")
    state = add(state, 2, "b")
    state = add(state, 3, "b")
    state = add(state, 4, "a")
    state = add(state, 5, "a") // "a" holds 3: its batch is sealed and 5 starts a new one
    assert.strictEqual(flusher.add(state, record(6, { partitionKey: "b" }), token(6), 0)._tag, "Full")
    const partial = flusher.flush(state, "partial")
    assert.deepStrictEqual(keysOf(partial), ["a:0,1,4"])
    if (partial._tag !== "Flushed") return
    state = stateOf(flusher.add(partial.state, record(6, { partitionKey: "b" }), token(6), 0))
    assert.deepStrictEqual(keysOf(flusher.flush(state, "full")).sort(), ["a:5", "b:2,3,6"])
  })

  it("answers Full to a new key beyond maxKeys, and a partial flush makes room", () => {
    const limited = KeyedFlusher.make({ maxKeys: 2 })
    let state = limited.init(shardId)
    state = stateOf(limited.add(state, record(0, { partitionKey: "a" }), token(0), 0))
    state = stateOf(limited.add(state, record(1, { partitionKey: "b" }), token(1), 0))
    assert.strictEqual(limited.add(state, record(2, { partitionKey: "a" }), token(2), 0)._tag, "Added")
    assert.strictEqual(limited.add(state, record(2, { partitionKey: "c" }), token(2), 0)._tag, "Full")
    const partial = limited.flush(state, "partial")
    if (partial._tag !== "Flushed") return assert.fail("expected a flush")
    assert.strictEqual(limited.add(partial.state, record(2, { partitionKey: "c" }), token(2), 0)._tag, "Added")
  })

  it("makes room for a new key as well when a batch is sealed and every key slot is taken", () => {
    const limited = KeyedFlusher.make({ maxRecords: 1, maxKeys: 2 })
    const offer = (state: KeyedFlusher.State, n: number, key: string) =>
      limited.add(state, record(n, { partitionKey: key }), token(n), 0)
    let state = limited.init(shardId)
    state = stateOf(offer(state, 0, "b"))
    state = stateOf(offer(state, 1, "a"))
    state = stateOf(offer(state, 2, "a")) // seals "a"
    assert.strictEqual(offer(state, 3, "c")._tag, "Full")
    const partial = limited.flush(state, "partial")
    // The sealed batch first, then one of the two open batches (equally full) to free a key slot.
    assert.strictEqual(keysOf(partial)[0], "a:1")
    assert.strictEqual(keysOf(partial).length, 2)
    if (partial._tag !== "Flushed") return
    assert.strictEqual(offer(partial.state, 3, "c")._tag, "Added")
  })

  it("flushes on a heartbeat every key whose batch reached maxAge", () => {
    let state = flusher.init(shardId)
    state = add(state, 0, "a", 0)
    state = add(state, 1, "b", 5_000)
    state = add(state, 2, "c", 9_000)
    const beat = flusher.heartbeat(state, 15_000)
    assert.deepStrictEqual(keysOf(beat).sort(), ["a:0", "b:1"])
    assert.strictEqual(flusher.heartbeat(flusher.init(shardId), 1e12)._tag, "NotFlushed")
  })

  it("keys records without a partition key under the empty string by default", () => {
    const state = stateOf(flusher.add(flusher.init(shardId), record(0, { partitionKey: null }), token(0), 0))
    assert.deepStrictEqual(keysOf(flusher.flush(state, "full")), [":0"])
  })
})
