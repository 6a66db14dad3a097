import { assert, describe, it } from "@effect/vitest"
import { BatchingFlusher } from "@flusher/core"
import { ShardId } from "@flusher/core"
import { BatchWriter, Checkpointer, Metrics, ShardConfig, ShardRunner } from "@flusher/runtime"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { joinAdvancing, records, shardId, testConfig } from "./fixtures.js"

/** A logger that keeps each line's message and annotations, for the assertions. */
const collectLogs = () => {
  const lines: Array<{ readonly message: string; readonly shardId: unknown }> = []
  const logger = Logger.make(({ annotations, message }) => {
    lines.push({
      message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
      shardId: HashMap.get(annotations, "shardId")._tag === "Some" ? HashMap.unsafeGet(annotations, "shardId") : null
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const stuckWriter = Layer.succeed(BatchWriter.BatchWriter, BatchWriter.make(() => Effect.never))
const memory = Layer.merge(BatchWriter.layerMemory, Checkpointer.layerMemory())

describe("the watchdog", () => {
  it.effect("reports a shard whose checkpoint has not moved while records are outstanding, naming the record", () => {
    const logs = collectLogs()
    return Effect.gen(function*() {
      const leaseLost = yield* Deferred.make<void>()
      const stallsBefore = (yield* Metric.value(Metric.tagged(Metrics.stalls, "shard", shardId))).count
      const fiber = yield* Effect.fork(
        ShardRunner.run({
          shardId,
          records: Stream.concat(Stream.fromIterable(records(0, 10)), Stream.never),
          flusher: BatchingFlusher.make({ maxRecords: 5 }),
          config: { ...testConfig, watchdog: { stallTimeout: Duration.minutes(1), failOnStall: false } },
          leaseLost: Deferred.await(leaseLost)
        }).pipe(Effect.provide(stuckWriter))
      )
      yield* TestClock.adjust("59 seconds")
      assert.isFalse(logs.lines.some((line) => line.message.includes("No checkpoint progress")))
      yield* TestClock.adjust("2 seconds")
      const warning = logs.lines.find((line) => line.message.includes("No checkpoint progress"))
      assert.isDefined(warning)
      assert.include(warning!.message, "49590338271490256608559692538361571095921575989136000000 holds the checkpoint")
      assert.include(warning!.message, "in batch")
      assert.strictEqual(warning!.shardId, shardId)
      const stalls = yield* Metric.value(Metric.tagged(Metrics.stalls, "shard", shardId))
      assert.strictEqual(stalls.count - stallsBefore, 1)
      yield* Deferred.succeed(leaseLost, undefined)
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(Layer.merge(memory, logs.layer)))
  })

  it.effect("fails the shard on a stall when set to", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        ShardRunner.run({
          shardId,
          records: Stream.concat(Stream.fromIterable(records(0, 10)), Stream.never),
          flusher: BatchingFlusher.make({ maxRecords: 5 }),
          config: { ...testConfig, watchdog: { stallTimeout: Duration.minutes(1), failOnStall: true } }
        }).pipe(Effect.provide(stuckWriter), Effect.flip)
      )
      const error = yield* joinAdvancing(fiber)
      assert.strictEqual(error._tag, "ShardStalled")
      assert.include(error.message, "made no checkpoint progress for 1m")
    }).pipe(Effect.provide(memory)))
})

describe("observability", () => {
  it.effect("counts records, batches and checkpoints per shard, and annotates every log line with the shard", () => {
    const logs = collectLogs()
    // A shard of its own: metrics are global to the process.
    const shardId = ShardId.unsafeMake("shardId-000000000042")
    return Effect.gen(function*() {
      yield* ShardRunner.run({
        shardId,
        records: Stream.fromIterable(records(0, 42)),
        flusher: BatchingFlusher.make({ maxRecords: 10 }),
        config: testConfig
      })
      const value = <T, I, O>(metric: Metric.Metric<T, I, O>) => Metric.value(Metric.tagged(metric, "shard", shardId))
      assert.strictEqual((yield* value(Metrics.recordsIn)).count, 42)
      assert.strictEqual((yield* value(Metrics.batchesWritten)).count, 5)
      assert.strictEqual((yield* value(Metrics.batchRecords)).sum, 42)
      assert.isAbove((yield* value(Metrics.checkpointsSaved)).count, 0)
      assert.isAbove(logs.lines.length, 0)
      assert.isTrue(logs.lines.every((line) => line.shardId === shardId))
      assert.isTrue(logs.lines.some((line) => line.message.includes("Shard stopped (ShardEnded)")))
    }).pipe(Effect.provide(Layer.merge(memory, logs.layer)))
  })
})

describe("ShardConfig", () => {
  it.effect("reads every setting from the environment, with defaults for the rest", () =>
    Effect.gen(function*() {
      const config = yield* ShardConfig.config.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          // As the environment gives them: the path "FLUSHER" / "FLUSH_INTERVAL" joined with "_".
          new Map([
            ["FLUSHER_FLUSH_INTERVAL", "10 seconds"],
            ["FLUSHER_CHECKPOINT_INTERVAL", "everyWrite"],
            ["FLUSHER_MAX_OUTSTANDING", "500"],
            ["FLUSHER_RETRY_MAX_ATTEMPTS", "3"],
            ["FLUSHER_FAIL_ON_STALL", "true"]
          ]),
          { pathDelim: "_" }
        ))
      )
      assert.strictEqual(Duration.toMillis(config.flushInterval), 10_000)
      assert.strictEqual(config.checkpointInterval, "everyWrite")
      assert.strictEqual(config.maxOutstanding, 500)
      assert.strictEqual(config.retry.maxAttempts, 3)
      assert.isTrue(config.watchdog.failOnStall)
      assert.strictEqual(config.heartbeatInterval, ShardConfig.defaults.heartbeatInterval)
    }))

  it.effect("refuses a setting that is not valid, naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ShardConfig.config.pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["FLUSHER_MAX_OUTSTANDING", "0"]]), { pathDelim: "_" })
        )
      ))
      assert.include(String(error), "MAX_OUTSTANDING")
      const interval = yield* Effect.flip(ShardConfig.config.pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["FLUSHER_CHECKPOINT_INTERVAL", "often"]]), { pathDelim: "_" })
        )
      ))
      assert.include(String(interval), "everyWrite")
    }))
})
