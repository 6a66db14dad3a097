import { assert, describe, it } from "@effect/vitest"
import { BatchingFlusher, Flusher } from "@flusher/core"
import { pipe } from "effect/Function"
import { record, shardId, token } from "./fixtures.js"

describe("Flusher", () => {
  it("filter ignores the records that fail the predicate", () => {
    const flusher = pipe(BatchingFlusher.make(), Flusher.filter((r) => r.partitionKey !== "skip"))
    const state = flusher.init(shardId)
    const skipped = flusher.add(state, record(0, { partitionKey: "skip" }), token(0), 0)
    assert.strictEqual(skipped._tag, "Ignored")
    const kept = flusher.add(state, record(1), token(1), 0)
    assert.strictEqual(kept._tag, "Added")
  })

  it("mapBatch transforms what flushes and heartbeats return, and keeps the tokens", () => {
    const flusher = pipe(
      BatchingFlusher.make({ maxAge: 10 }),
      Flusher.mapBatch((batch) => batch.length)
    )
    const added = flusher.add(flusher.init(shardId), record(0), token(0), 0)
    if (added._tag !== "Added") return assert.fail("expected Added")
    const flushed = flusher.flush(added.state, "full")
    assert.deepStrictEqual(flushed._tag === "Flushed" && [flushed.batch, flushed.tokens], [1, [token(0)]])
    const beat = flusher.heartbeat(added.state, 10)
    assert.deepStrictEqual(beat._tag === "Flushed" && beat.batch, 1)
    assert.isUndefined(flusher.recordsOf)
  })

  it("make gives a flusher without heartbeat one that never flushes on a tick", () => {
    const flusher = Flusher.make<number, number>({
      init: () => 0,
      add: (n) => Flusher.added(n + 1),
      flush: (n) => Flusher.notFlushed(n)
    })
    assert.strictEqual(flusher.heartbeat(3, 1e12)._tag, "NotFlushed")
  })
})
