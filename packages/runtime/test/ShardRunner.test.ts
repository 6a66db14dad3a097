import { assert, describe, it } from "@effect/vitest"
import { BatchingFlusher, Checkpoint, type StreamRecord } from "@flusher/core"
import { BatchWriter, Checkpointer, ShardRunner } from "@flusher/runtime"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { joinAdvancing, numberOf, records, shardId, testConfig } from "./fixtures.js"

const memory = Layer.merge(BatchWriter.layerMemory, Checkpointer.layerMemory())

const writtenNumbers = Effect.gen(function*() {
  const batches = yield* (yield* BatchWriter.MemoryBatches).written
  return batches.map((request) => (request.batch as ReadonlyArray<StreamRecord.StreamRecord>).map(numberOf))
})

const storedCheckpoint = Effect.flatMap(Checkpointer.Checkpointer, (c) => c.load(shardId))

describe("ShardRunner", () => {
  it.effect("writes every record of a shard that ends, then checkpoints the end of the shard", () =>
    Effect.gen(function*() {
      const report = yield* ShardRunner.run({
        shardId,
        records: Stream.fromIterable(records(0, 1234)),
        flusher: BatchingFlusher.make({ maxRecords: 100 }),
        config: testConfig
      })
      const written = (yield* writtenNumbers).flat()
      assert.deepStrictEqual(written, Array.from({ length: 1234 }, (_, i) => i))
      assert.deepStrictEqual(yield* storedCheckpoint, Checkpoint.shardEnd)
      assert.strictEqual(report.outcome.reason, "ShardEnded")
      assert.strictEqual(report.summary.records, 1234)
      assert.strictEqual(report.summary.batchesWritten, 13)
    }).pipe(Effect.provide(memory)))

  it.effect("flushes an idle shard on its heartbeat", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(ShardRunner.run({
        shardId,
        records: Stream.concat(Stream.fromIterable(records(0, 3)), Stream.never),
        flusher: BatchingFlusher.make({ maxRecords: 100, maxAge: "2 seconds" }),
        config: { ...testConfig, flushInterval: Duration.hours(1) }
      }))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* writtenNumbers, [])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* writtenNumbers, [[0, 1, 2]])
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(memory)))

  it.effect("flushes a batch once its oldest record is flushInterval old, and checkpoints on its interval", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(ShardRunner.run({
        shardId,
        records: Stream.concat(Stream.fromIterable(records(0, 5)), Stream.never),
        flusher: BatchingFlusher.make({ maxRecords: 100 }),
        config: testConfig
      }))
      yield* TestClock.adjust("4 seconds")
      assert.deepStrictEqual(yield* writtenNumbers, [])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* writtenNumbers, [[0, 1, 2, 3, 4]])
      // The first checkpoint goes out as soon as there is one; the next waits for the interval.
      assert.strictEqual(Checkpoint.format((yield* storedCheckpoint)!), records(4, 5)[0].sequenceNumber)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(memory)))

  it.effect("retries a failing write, then fails the shard with nothing checkpointed past the failed batch", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const failing = Layer.succeed(
        BatchWriter.BatchWriter,
        BatchWriter.make<ReadonlyArray<StreamRecord.StreamRecord>>((request) =>
          numberOf(request.first) >= 10
            ? Effect.zipRight(
              Ref.update(attempts, (n) => n + 1),
              Effect.fail(new BatchWriter.BatchWriteError({ batchId: request.batchId, reason: "S3 is down" }))
            )
            : Effect.void
        )
      )
      const fiber = yield* Effect.fork(
        ShardRunner.run({
          shardId,
          records: Stream.fromIterable(records(0, 30)),
          flusher: BatchingFlusher.make({ maxRecords: 10 }),
          config: { ...testConfig, checkpointInterval: "everyWrite" }
        }).pipe(Effect.provide(failing), Effect.flip)
      )
      const error = yield* joinAdvancing(fiber)
      assert.strictEqual(error._tag, "WriteFailed")
      assert.include(error.message, "could not be written")
      assert.strictEqual(yield* Ref.get(attempts), 3)
      assert.strictEqual(Checkpoint.format((yield* storedCheckpoint)!), records(9, 10)[0].sequenceNumber)
    }).pipe(Effect.provide(memory)))

  it.effect("waits the backoff between attempts, and goes on once a retried write succeeds", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const flaky = Layer.succeed(
        BatchWriter.BatchWriter,
        BatchWriter.make((request) =>
          Ref.modify(attempts, (n) => [n, n + 1]).pipe(
            Effect.flatMap((n) =>
              n < 2
                ? Effect.fail(new BatchWriter.BatchWriteError({ batchId: request.batchId, reason: "timed out" }))
                : Effect.void
            )
          )
        )
      )
      const fiber = yield* Effect.fork(
        ShardRunner.run({
          shardId,
          records: Stream.fromIterable(records(0, 10)),
          flusher: BatchingFlusher.make({ maxRecords: 10 }),
          config: testConfig
        }).pipe(Effect.provide(flaky))
      )
      // Backoffs of 100 ms, then 200 ms, each jittered to between 80 and 120 %: the second attempt comes between 80
      // and 120 ms, the third between 240 and 360 ms.
      yield* TestClock.adjust("79 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* TestClock.adjust("42 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      yield* TestClock.adjust("118 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      yield* TestClock.adjust("122 millis")
      assert.strictEqual(yield* Ref.get(attempts), 3)
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.summary.retries, 2)
      assert.strictEqual(report.summary.batchesWritten, 1)
      assert.strictEqual(Checkpoint.format((yield* storedCheckpoint)!), "SHARD_END")
    }).pipe(Effect.provide(memory)))

  it.effect("stops on a lost lease while a write is in flight, and checkpoints nothing", () =>
    Effect.gen(function*() {
      const leaseLost = yield* Deferred.make<void>()
      const writing = yield* Deferred.make<void>()
      const stuck = Layer.succeed(
        BatchWriter.BatchWriter,
        BatchWriter.make(() => Effect.zipRight(Deferred.succeed(writing, undefined), Effect.never))
      )
      const fiber = yield* Effect.fork(
        ShardRunner.run({
          shardId,
          records: Stream.concat(Stream.fromIterable(records(0, 20)), Stream.never),
          flusher: BatchingFlusher.make({ maxRecords: 10 }),
          config: testConfig,
          leaseLost: Deferred.await(leaseLost)
        }).pipe(Effect.provide(stuck))
      )
      yield* Deferred.await(writing)
      yield* Deferred.succeed(leaseLost, undefined)
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.outcome.reason, "LeaseLost")
      assert.strictEqual(report.outcome.unwritten, 20)
      assert.isNull(yield* storedCheckpoint)
    }).pipe(Effect.provide(memory)))

  it.effect("on a shutdown request writes everything and checkpoints the last record, within the deadline", () =>
    Effect.gen(function*() {
      const shutdown = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(ShardRunner.run({
        shardId,
        records: Stream.concat(Stream.fromIterable(records(0, 25)), Stream.never),
        flusher: BatchingFlusher.make({ maxRecords: 10 }),
        config: testConfig,
        shutdown: Deferred.await(shutdown)
      }))
      yield* TestClock.adjust("1 second")
      yield* Deferred.succeed(shutdown, undefined)
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.outcome.reason, "ShutdownRequested")
      assert.strictEqual(report.outcome.unwritten, 0)
      assert.deepStrictEqual((yield* writtenNumbers).flat(), Array.from({ length: 25 }, (_, i) => i))
      assert.strictEqual(Checkpoint.format((yield* storedCheckpoint)!), records(24, 25)[0].sequenceNumber)
    }).pipe(Effect.provide(memory)))

  it.effect("on interruption flushes, writes and checkpoints in its finalizer", () =>
    Effect.gen(function*() {
      const reported = yield* Deferred.make<ShardRunner.Report>()
      const fiber = yield* Effect.fork(ShardRunner.run({
        shardId,
        records: Stream.concat(Stream.fromIterable(records(0, 7)), Stream.never),
        flusher: BatchingFlusher.make({ maxRecords: 100 }),
        config: testConfig,
        onStopped: (report) => Deferred.succeed(reported, report)
      }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const report = yield* Deferred.await(reported)
      assert.strictEqual(report.outcome.reason, "ShutdownRequested")
      assert.deepStrictEqual((yield* writtenNumbers).flat(), Array.from({ length: 7 }, (_, i) => i))
      assert.strictEqual(Checkpoint.format((yield* storedCheckpoint)!), records(6, 7)[0].sequenceNumber)
    }).pipe(Effect.provide(memory)))

  it.effect("gives up a shutdown after its deadline and reports what was left unwritten", () =>
    Effect.gen(function*() {
      const reported = yield* Deferred.make<ShardRunner.Report>()
      const stuck = Layer.succeed(BatchWriter.BatchWriter, BatchWriter.make(() => Effect.never))
      const fiber = yield* Effect.fork(
        ShardRunner.run({
          shardId,
          records: Stream.concat(Stream.fromIterable(records(0, 7)), Stream.never),
          flusher: BatchingFlusher.make({ maxRecords: 100 }),
          config: testConfig,
          onStopped: (report) => Deferred.succeed(reported, report)
        }).pipe(Effect.provide(stuck))
      )
      yield* TestClock.adjust("1 second")
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* TestClock.adjust("31 seconds")
      yield* Fiber.join(interrupting)
      const report = yield* Deferred.await(reported)
      assert.strictEqual(report.outcome.unwritten, 7)
      assert.strictEqual(numberOf(report.outcome.firstUnwritten!), 0)
      assert.isNull(yield* storedCheckpoint)
    }).pipe(Effect.provide(memory)))

  it.effect("takes no record past the outstanding bound while writes are stuck", () =>
    Effect.gen(function*() {
      const stuck = Layer.succeed(BatchWriter.BatchWriter, BatchWriter.make(() => Effect.never))
      const runWithBound = (maxOutstanding: number) =>
        Effect.gen(function*() {
          const pulled = yield* Ref.make(0)
          const leaseLost = yield* Deferred.make<void>()
          const source = Stream.fromIterable(records(0, 1000)).pipe(
            Stream.rechunk(10),
            Stream.mapChunksEffect((chunk) => Effect.as(Ref.update(pulled, (n) => n + chunk.length), chunk))
          )
          const fiber = yield* Effect.fork(
            ShardRunner.run({
              shardId,
              records: source,
              flusher: BatchingFlusher.make({ maxRecords: 20 }),
              config: { ...testConfig, maxOutstanding },
              leaseLost: Deferred.await(leaseLost)
            }).pipe(Effect.provide(stuck))
          )
          yield* TestClock.adjust("1 minute")
          yield* Deferred.succeed(leaseLost, undefined)
          const report = yield* Fiber.join(fiber)
          return { pulled: yield* Ref.get(pulled), taken: report.outcome.unwritten }
        })
      // The source is read a chunk at a time, and only when there is room; what does not fit waits in the runner.
      assert.deepStrictEqual(yield* runWithBound(50), { pulled: 50, taken: 50 })
      assert.deepStrictEqual(yield* runWithBound(45), { pulled: 50, taken: 45 })
    }).pipe(Effect.provide(memory)))

  it.effect("resumes from the stored checkpoint and never moves it back", () =>
    Effect.gen(function*() {
      const resumeAfter = Checkpoint.atPosition(records(99, 100)[0])
      const report = yield* ShardRunner.run({
        shardId,
        records: Stream.fromIterable(records(100, 110)),
        flusher: BatchingFlusher.make(),
        config: testConfig
      }).pipe(
        Effect.provide(Layer.merge(BatchWriter.layerMemory, Checkpointer.layerMemory([[shardId, resumeAfter]])))
      )
      assert.strictEqual(report.outcome.reason, "ShardEnded")
    }))

  it.effect("fails the shard when a writer dies, rather than wait for it", () =>
    Effect.gen(function*() {
      const dying = Layer.succeed(BatchWriter.BatchWriter, BatchWriter.make(() => Effect.die("a bug in the writer")))
      const exit = yield* ShardRunner.run({
        shardId,
        records: Stream.concat(Stream.fromIterable(records(0, 20)), Stream.never),
        flusher: BatchingFlusher.make({ maxRecords: 10 }),
        config: testConfig
      }).pipe(Effect.provide(dying), Effect.exit)
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      assert.isNull(yield* storedCheckpoint)
    }).pipe(Effect.provide(memory)))
})
