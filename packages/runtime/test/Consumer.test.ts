import { assert, describe, it } from "@effect/vitest"
import { BatchingFlusher, Checkpoint, ShardId, type StreamRecord } from "@flusher/core"
import { BatchWriter, Checkpointer, Consumer } from "@flusher/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { numberOf, record, records, testConfig } from "./fixtures.js"

const shard = (n: number) => ShardId.unsafeMake(`shardId-00000000000${n}`)

const assignment = (n: number, count: number, fail = false): Consumer.Assignment<string, never> => ({
  shardId: shard(n),
  records: (checkpoint) => {
    const after = checkpoint === null || checkpoint._tag === "ShardEnd" ? -1 : numberOf(checkpoint.position)
    const stream = Stream.fromIterable(records(after + 1, count))
    return fail ? Stream.concat(stream, Stream.fail("the shard iterator expired")) : stream
  }
})

const written = Effect.gen(function*() {
  const batches = yield* (yield* BatchWriter.MemoryBatches).written
  const byShard = new Map<string, Array<number>>()
  for (const request of batches) {
    const numbers = (request.batch as ReadonlyArray<StreamRecord.StreamRecord>).map(numberOf)
    byShard.set(request.shardId, [...(byShard.get(request.shardId) ?? []), ...numbers])
  }
  return byShard
})

describe("Consumer", () => {
  it.effect("runs every assigned shard to its end", () =>
    Effect.gen(function*() {
      const report = yield* Consumer.run({
        assignments: Stream.fromIterable([1, 2, 3, 4].map((n) => assignment(n, 100 * n))),
        flusher: BatchingFlusher.make({ maxRecords: 50 }),
        config: testConfig,
        maxShards: 2
      })
      assert.deepStrictEqual(report.shards.map((r) => r._tag), ["Stopped", "Stopped", "Stopped", "Stopped"])
      const byShard = yield* written
      for (const n of [1, 2, 3, 4]) {
        assert.deepStrictEqual(byShard.get(shard(n)), Array.from({ length: 100 * n }, (_, i) => i))
        const checkpoint = yield* Effect.flatMap(Checkpointer.Checkpointer, (c) => c.load(shard(n)))
        assert.deepStrictEqual(checkpoint, Checkpoint.shardEnd)
      }
    }).pipe(Effect.provide(Layer.merge(BatchWriter.layerMemory, Checkpointer.layerMemory()))))

  it.effect("reports a failed shard and goes on with the others", () =>
    Effect.gen(function*() {
      const report = yield* Consumer.run({
        assignments: Stream.fromIterable([assignment(1, 30), assignment(2, 30, true), assignment(3, 30)]),
        flusher: BatchingFlusher.make({ maxRecords: 10 }),
        config: testConfig
      })
      const failed = report.shards.filter((r) => r._tag === "Failed")
      assert.strictEqual(failed.length, 1)
      assert.strictEqual(failed[0].shardId, shard(2))
      if (failed[0]._tag === "Failed") {
        assert.include(failed[0].error.message, "The record source of shard")
        assert.include(failed[0].error.message, "the shard iterator expired")
      }
      assert.strictEqual(report.shards.filter((r) => r._tag === "Stopped").length, 2)
      assert.deepStrictEqual((yield* written).get(shard(3)), Array.from({ length: 30 }, (_, i) => i))
    }).pipe(Effect.provide(Layer.merge(BatchWriter.layerMemory, Checkpointer.layerMemory()))))

  it.effect("fails as a whole on the first failure when failFast is set", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Consumer.run({
        assignments: Stream.fromIterable([assignment(2, 30, true)]),
        flusher: BatchingFlusher.make({ maxRecords: 10 }),
        config: testConfig,
        failFast: true
      }))
      assert.strictEqual(error._tag, "SourceFailed")
    }).pipe(Effect.provide(Layer.merge(BatchWriter.layerMemory, Checkpointer.layerMemory()))))

  it.effect("starts each shard after its checkpoint, and skips a shard that already ended", () =>
    Effect.gen(function*() {
      const report = yield* Consumer.run({
        assignments: Stream.fromIterable([assignment(1, 40), assignment(2, 40)]),
        flusher: BatchingFlusher.make({ maxRecords: 10 }),
        config: testConfig
      })
      assert.deepStrictEqual(report.shards.map((r) => `${r.shardId} ${r._tag}`).sort(), [
        `${shard(1)} Stopped`,
        `${shard(2)} AlreadyEnded`
      ])
      assert.deepStrictEqual((yield* written).get(shard(1)), Array.from({ length: 15 }, (_, i) => 25 + i))
    }).pipe(Effect.provide(Layer.merge(
      BatchWriter.layerMemory,
      Checkpointer.layerMemory([
        [shard(1), Checkpoint.atPosition(record(24))],
        [shard(2), Checkpoint.shardEnd]
      ])
    ))))
})
