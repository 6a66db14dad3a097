/**
 * Simulations: one shard run by the real runtime on the test clock, under a seeded schedule of faults (failing,
 * slow and stalled writes; throttled and failing checkpoints; leases lost on a checkpoint; crashes), restarted from
 * its last checkpoint after each crash or lost lease until it ends.
 *
 * Checked in every simulation:
 *
 * - no checkpoint is stored before every record up to it was written;
 * - across crashes and restarts, every record of the shard is written at least once;
 * - records written more than once are counted and reported: at-least-once delivery allows them, but they should
 *   come only from writes redone after a crash or a failure.
 *
 * @since 0.1.0
 */
import { BatchingFlusher, type Flusher, Position, ShardId } from "@flusher/core"
import { BatchWriter, Checkpointer, type ShardConfig, ShardRunner } from "@flusher/runtime"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import type * as TestServices from "effect/TestServices"
import * as FaultyLayers from "./FaultyLayers.js"

/**
 * A simulation's setup. Only the seed is required; everything else has a default that exercises every fault.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<S, B, E> {
  readonly seed: number
  /** Records in the shard. Default 400. */
  readonly records?: number | undefined
  /** One in so many of the shard's sequence numbers is an aggregate split into three parts. Default 7. */
  readonly aggregateEvery?: number | undefined
  /** The flusher under test; it must expose `recordsOf`. Default: batches of 25 records, 3 seconds old at most. */
  readonly flusher?: Flusher.Flusher<S, B, E> | undefined
  /** At most so many crashes, at seeded times. Default 2. */
  readonly crashes?: number | undefined
  readonly writeFaults?: Partial<Omit<FaultyLayers.WriterFaults, "seed">> | undefined
  readonly checkpointFaults?: Partial<Omit<FaultyLayers.CheckpointerFaults, "seed">> | undefined
  /** Overrides of the shard's settings. */
  readonly config?: Partial<ShardConfig.ShardConfig> | undefined
  /** Wraps the faulty writer: to test the simulation itself with a writer that lies, for example. */
  readonly wrapWriter?: ((writer: BatchWriter.BatchWriter["Type"]) => BatchWriter.BatchWriter["Type"]) | undefined
}

/**
 * What a simulation saw.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly seed: number
  readonly records: number
  /** Shard runs: the first, and one more after each crash, lost lease or failure. */
  readonly runs: number
  readonly crashes: number
  /** Runs that ended in an error (a write that failed every retry, say) and were restarted. */
  readonly failures: ReadonlyArray<string>
  readonly batchesWritten: number
  readonly recordsWritten: number
  /** Writes of a record beyond its first. */
  readonly duplicates: number
  readonly faults: FaultyLayers.Store["faults"]
  readonly simulatedMillis: number
  /** Broken invariants; empty when the runtime did its job. */
  readonly violations: ReadonlyArray<string>
}

const shardId = ShardId.unsafeMake("shardId-000000000000")

const defaultConfig: ShardConfig.ShardConfig = {
  flushInterval: Duration.seconds(2),
  heartbeatInterval: Duration.seconds(1),
  checkpointInterval: Duration.seconds(1),
  maxOutstanding: 120,
  maxConcurrentWrites: 3,
  retry: { initialDelay: Duration.millis(50), maxDelay: Duration.seconds(2), maxAttempts: 4 },
  shutdownDeadline: Duration.seconds(30),
  watchdog: { stallTimeout: Duration.minutes(10), failOnStall: false }
}

/** After this many runs no fault is injected any more, so that every simulation ends. */
const calmAfterRuns = 6

/**
 * Runs a simulation to the end of the shard and reports what happened. It drives the test clock itself.
 *
 * @since 0.1.0
 * @category running
 */
export const simulate = <S = BatchingFlusher.State, B = BatchingFlusher.Batch, E = BatchingFlusher.RecordTooLarge>(
  options: Options<S, B, E>
): Effect.Effect<Report, never, TestServices.TestServices> =>
  Effect.gen(function*() {
    const seed = options.seed
    const flusher = options.flusher ??
      (BatchingFlusher.make({ maxRecords: 25, maxAge: "3 seconds" }) as unknown as Flusher.Flusher<S, B, E>)
    const records = FaultyLayers.shardRecords(options.records ?? 400, options.aggregateEvery ?? 7)
    const store = FaultyLayers.makeStore()
    const config = { ...defaultConfig, ...options.config }
    const plannedCrashes = Math.floor(FaultyLayers.draw(seed, "crashes") * ((options.crashes ?? 2) + 1))
    const failures: Array<string> = []
    const startedAt = yield* Clock.currentTimeMillis
    let runs = 0
    let crashes = 0

    const writerFaults = (calm: boolean): FaultyLayers.WriterFaults => ({
      seed,
      failureRate: calm ? 0 : options.writeFaults?.failureRate ?? 0.15,
      latency: options.writeFaults?.latency ?? { min: 5, max: 400 },
      stallRate: calm ? 0 : options.writeFaults?.stallRate ?? 0.03,
      stallFor: options.writeFaults?.stallFor ?? "20 seconds"
    })
    const checkpointFaults = (calm: boolean): FaultyLayers.CheckpointerFaults => ({
      seed,
      throttleRate: calm ? 0 : options.checkpointFaults?.throttleRate ?? 0.2,
      failureRate: calm ? 0 : options.checkpointFaults?.failureRate ?? 0.1,
      leaseLossRate: calm ? 0 : options.checkpointFaults?.leaseLossRate ?? 0.05
    })

    while (store.checkpoint === null || store.checkpoint._tag !== "ShardEnd") {
      runs++
      const calm = runs > calmAfterRuns
      store.crashed = false
      const writer = FaultyLayers.faultyWriter(store, flusher, { ...writerFaults(calm), seed: seed + runs })
      const layer = Layer.merge(
        Layer.succeed(BatchWriter.BatchWriter, options.wrapWriter?.(writer) ?? writer),
        Layer.succeed(
          Checkpointer.Checkpointer,
          FaultyLayers.faultyCheckpointer(store, records, { ...checkpointFaults(calm), seed: seed + runs })
        )
      )
      const crash = yield* Deferred.make<void>()
      const crashAt = !calm && crashes < plannedCrashes
        ? Math.floor(FaultyLayers.draw(seed, "crash at", runs) * 20_000)
        : null
      const run = yield* Effect.fork(
        ShardRunner.run({
          shardId,
          records: FaultyLayers.scriptedSource(records, store.checkpoint, {
            seed: seed + runs,
            maxChunk: 40,
            maxPause: "300 millis"
          }),
          flusher,
          config,
          lastCheckpoint: store.checkpoint,
          // A crash: from now on nothing is written or checkpointed, and the run stops without a word.
          leaseLost: Deferred.await(crash)
        }).pipe(Effect.provide(layer), Effect.either)
      )
      const crasher = crashAt === null ? null : yield* Effect.fork(
        Effect.sleep(crashAt).pipe(
          Effect.zipRight(Effect.sync(() => {
            store.crashed = true
          })),
          Effect.zipRight(Deferred.succeed(crash, undefined))
        )
      )
      const finished = yield* advanceUntilDone(run)
      if (crasher !== null) yield* Fiber.interrupt(crasher)
      if (Option.isNone(finished)) {
        store.violations.push(`run ${runs} was stuck for ${Duration.format(runLimit)} of simulated time`)
        store.crashed = true
        yield* Fiber.interrupt(run).pipe(Effect.fork)
        break
      }
      if (store.crashed) crashes++
      const result = finished.value
      if (Either.isLeft(result)) failures.push(`run ${runs}: ${result.left.message}`)
      if (runs > 50) {
        store.violations.push(`the shard did not end after ${runs} runs`)
        break
      }
    }

    let duplicates = 0
    for (const count of store.written.values()) duplicates += count - 1
    for (const record of records) {
      if (!store.written.has(Position.format(record))) {
        store.violations.push(`${Position.format(record)} was never written`)
        break
      }
    }
    return {
      seed,
      records: records.length,
      runs,
      crashes,
      failures,
      batchesWritten: store.writes.length,
      recordsWritten: store.written.size,
      duplicates,
      faults: store.faults,
      simulatedMillis: (yield* Clock.currentTimeMillis) - startedAt,
      violations: store.violations
    }
  }).pipe(Effect.withRandom(Random.make(options.seed)))

/** A run that takes longer than this, in simulated time, is stuck: a broken invariant of its own. */
const runLimit = Duration.hours(1)

/** Moves the test clock in small steps until the fiber is done, or the run limit passed (then `None`). */
const advanceUntilDone = <A>(
  fiber: Fiber.Fiber<A>
): Effect.Effect<Option.Option<A>, never, TestServices.TestServices> =>
  Effect.gen(function*() {
    const step = Duration.millis(100)
    for (let elapsed = 0; elapsed < Duration.toMillis(runLimit); elapsed += Duration.toMillis(step)) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return Option.some(yield* Fiber.join(fiber))
      yield* TestClock.adjust(step)
    }
    return Option.none()
  })
