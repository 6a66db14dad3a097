/**
 * The shard runner: runs one shard from an Effect `Stream` of its records, on the pure batch processor.
 *
 * It takes records a chunk at a time and reads the clock once per chunk, ticks the heartbeat on a schedule, writes
 * batches through the `BatchWriter` (bounded concurrency, retries with exponential backoff and jitter), stores
 * checkpoints through the `Checkpointer`, and makes the source wait while the outstanding bound is reached.
 *
 * How it ends:
 *
 * - the stream ends: the shard ended. Everything is flushed and written, and the end of the shard checkpointed;
 * - `shutdown` completes, or the fiber is interrupted (Ctrl-C under `NodeRuntime.runMain`): everything is
 *   flushed and written, and the last written record checkpointed, within the shutdown deadline. On
 *   interruption this happens in a scope finalizer, so however the fiber ends, records are not left half done;
 * - `leaseLost` completes, or the checkpointer says the lease is lost: it stops at once, writes nothing more and
 *   checkpoints nothing;
 * - a write fails after its retries, the source fails, the flusher breaks its contract, or the watchdog is set to
 *   fail on a stall: the shard fails with a typed error, with nothing checkpointed past an unwritten record.
 *
 * @since 0.1.0
 */
import {
  BatchProcessor,
  Checkpoint,
  type Flusher,
  Position,
  type ShardId,
  type StreamRecord,
  type Watermark
} from "@flusher/core"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { BatchWriter } from "./BatchWriter.js"
import { Checkpointer, type CheckpointError } from "./Checkpointer.js"
import * as Metrics from "./Metrics.js"
import * as ShardConfig from "./ShardConfig.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * A shard to run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<S, B, E, SE, R> {
  readonly shardId: ShardId.ShardId
  /** The shard's records, in order, from just after its last checkpoint. The stream ends when the shard ends. */
  readonly records: Stream.Stream<StreamRecord.StreamRecord, SE, R>
  readonly flusher: Flusher.Flusher<S, B, E>
  /** Overrides of the configuration read from the environment (`ShardConfig.config`). */
  readonly config?: Partial<ShardConfig.ShardConfig> | undefined
  /** Where the shard was checkpointed before. Default: loaded from the `Checkpointer`. */
  readonly lastCheckpoint?: Checkpoint.Checkpoint | null | undefined
  /** Completes when a graceful shutdown is requested (a deploy, a lease hand-off). */
  readonly shutdown?: Effect.Effect<void> | undefined
  /** Completes when the shard's lease is lost: another worker owns it now. */
  readonly leaseLost?: Effect.Effect<void> | undefined
  /** Called with the report when the shard stops, also when it stops in a finalizer after an interruption. */
  readonly onStopped?: ((report: Report) => Effect.Effect<void>) | undefined
  /** Allow checkpoints at a non-final part of an aggregate the worker split. Default false. */
  readonly subRecordCheckpoints?: boolean | undefined
}

/**
 * Counts of what a shard did.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly records: number
  readonly ignored: number
  readonly batches: number
  readonly batchesWritten: number
  readonly checkpoints: number
  readonly retries: number
}

/**
 * How a shard stopped, and what it did.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly shardId: ShardId.ShardId
  readonly outcome: BatchProcessor.Outcome
  readonly summary: Summary
}

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * The source of records failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class SourceFailed<SE> extends Data.TaggedError("SourceFailed")<{
  readonly shardId: ShardId.ShardId
  readonly error: SE
}> {
  override get message(): string {
    const inner = describeError(this.error)
    return `The record source of shard ${this.shardId} failed${inner}. The shard resumes from its last checkpoint ` +
      `when restarted.`
  }
}

/**
 * The checkpoint did not move for the stall timeout while records were outstanding, and the watchdog was set to
 * fail the shard.
 *
 * @since 0.1.0
 * @category errors
 */
export class ShardStalled extends Data.TaggedError("ShardStalled")<{
  readonly shardId: ShardId.ShardId
  readonly stalledFor: Duration.Duration
  readonly holdBack: Watermark.HoldBack | null
}> {
  override get message(): string {
    return `Shard ${this.shardId} made no checkpoint progress for ${Duration.format(this.stalledFor)}: ` +
      describeHoldBack(this.holdBack)
  }
}

/**
 * Every way a shard can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type ShardError<E, SE> =
  | BatchProcessor.ProcessorError<E>
  | CheckpointError
  | SourceFailed<SE>
  | ShardStalled

// -----------------------------------------------------------------------------
// running
// -----------------------------------------------------------------------------

/**
 * Runs a shard until it stops, and reports how.
 *
 * @example
 * ```ts
 * import { BatchingFlusher, SequenceNumber, ShardId, StreamRecord } from "@flusher/core"
 * import { BatchWriter, Checkpointer, ShardRunner } from "@flusher/runtime"
 * import { Effect, Layer, Stream } from "effect"
 *
 * const records = Stream.range(1, 1000).pipe(
 *   Stream.map((n) =>
 *     StreamRecord.make({ sequenceNumber: SequenceNumber.unsafeMake(String(n)), data: new Uint8Array(8) })
 *   )
 * )
 *
 * const program = ShardRunner.run({
 *   shardId: ShardId.unsafeMake("shardId-000000000000"),
 *   records,
 *   flusher: BatchingFlusher.make({ maxRecords: 100 })
 * }).pipe(Effect.provide(Layer.merge(BatchWriter.layerMemory, Checkpointer.layerMemory())))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run = <S, B, E, SE, R>(
  options: Options<S, B, E, SE, R>
): Effect.Effect<Report, ShardError<E, SE>, BatchWriter | Checkpointer | R> =>
  Effect.scoped(runScoped(options)).pipe(Effect.annotateLogs({ shardId: options.shardId }))

/** What the driver reacts to: the processor's events, and the runtime's own. */
type Signal<SE> =
  | { readonly _tag: "Event"; readonly event: BatchProcessor.Event }
  | { readonly _tag: "Records"; readonly records: ReadonlyArray<StreamRecord.StreamRecord> }
  | { readonly _tag: "WriteDone"; readonly request: BatchProcessor.WriteRequest<unknown>; readonly failed: unknown }
  | { readonly _tag: "Failed"; readonly error: CheckpointError | SourceFailed<SE> | ShardStalled }

const eventSignal = (event: BatchProcessor.Event): Signal<never> => ({ _tag: "Event", event })

const runScoped = <S, B, E, SE, R>(
  options: Options<S, B, E, SE, R>
): Effect.Effect<Report, ShardError<E, SE>, BatchWriter | Checkpointer | R | Scope.Scope> =>
  Effect.gen(function*() {
    const config: ShardConfig.ShardConfig = { ...(yield* ShardConfig.config.pipe(Effect.orDie)), ...options.config }
    const writer = yield* BatchWriter
    const checkpointer = yield* Checkpointer
    const { flusher, shardId } = options
    const tagged = <T, I, O>(metric: Metric.Metric<T, I, O>) => Metric.tagged(metric, "shard", shardId)
    const metrics = {
      recordsIn: tagged(Metrics.recordsIn),
      ignored: tagged(Metrics.recordsIgnored),
      batchesWritten: tagged(Metrics.batchesWritten),
      batchRecords: tagged(Metrics.batchRecords),
      batchBytes: tagged(Metrics.batchBytes),
      writeLatency: tagged(Metrics.writeLatency),
      writeFailures: tagged(Metrics.writeFailures),
      writeRetries: tagged(Metrics.writeRetries),
      checkpoints: tagged(Metrics.checkpointsSaved),
      outstanding: tagged(Metrics.recordsOutstanding),
      oldestAge: tagged(Metrics.oldestUnwrittenAge),
      behind: tagged(Metrics.millisBehindLatest),
      stalls: tagged(Metrics.stalls)
    }

    const lastCheckpoint = options.lastCheckpoint !== undefined
      ? options.lastCheckpoint
      : yield* checkpointer.load(shardId)
    const initial = BatchProcessor.make({
      shardId,
      flusher,
      flushInterval: config.flushInterval,
      checkpointInterval: config.checkpointInterval,
      maxOutstanding: config.maxOutstanding,
      maxConcurrentWrites: config.maxConcurrentWrites,
      subRecordCheckpoints: options.subRecordCheckpoints,
      lastCheckpoint
    })
    const clock = yield* Effect.clock
    // The driver's own state, owned by the driver fiber and read by the watchdog, the gauges and the finalizer. A
    // plain object rather than Refs: it changes on every event, and each Effect step there costs more than the work.
    const driver = {
      state: initial,
      demanded: false,
      stopped: null as BatchProcessor.Outcome | null,
      progressAt: clock.unsafeCurrentTimeMillis(),
      retries: 0
    }
    const signals = yield* Queue.unbounded<Signal<SE>>()
    const demand = yield* Queue.sliding<number>(1)
    const fibers = yield* FiberSet.make<unknown, never>()
    const retrySchedule = ShardConfig.retrySchedule(config.retry)
    const demandThreshold = Math.max(1, Math.floor(config.maxOutstanding / 10))
    const offer = (signal: Signal<SE>) => Queue.offer(signals, signal)

    // --- the source: reads a chunk only when the driver asks, never more records than it asked for ---
    const source = Effect.gen(function*() {
      const pull = yield* Stream.toPull(options.records)
      // What was pulled and not handed over yet: `pulled[next]` on. An index, not a copy of the rest each time.
      let pulled: ReadonlyArray<StreamRecord.StreamRecord> = []
      let next = 0
      for (;;) {
        const credit = yield* Queue.take(demand)
        while (next >= pulled.length) {
          const chunk = yield* Effect.either(pull)
          if (Either.isLeft(chunk)) {
            return yield* Option.match(chunk.left, {
              onNone: () => offer(eventSignal(BatchProcessor.Event.Shutdown({ reason: "ShardEnded" }))),
              onSome: (error) => offer({ _tag: "Failed", error: new SourceFailed({ shardId, error }) })
            })
          }
          pulled = Chunk.toReadonlyArray(chunk.right)
          next = 0
        }
        const end = Math.min(pulled.length, next + credit)
        const records = next === 0 && end === pulled.length ? pulled : pulled.slice(next, end)
        next = end
        yield* offer({ _tag: "Records", records })
      }
    }).pipe(Effect.scoped)

    // --- writes, with retries; the driver learns the result through a signal ---
    const writeBatch = (request: BatchProcessor.WriteRequest<unknown>) => {
      let attempts = 0
      const attempt = Effect.suspend(() => {
        if (++attempts > 1) metrics.writeRetries.unsafeUpdate(1, [])
        const started = clock.unsafeCurrentTimeNanos()
        return Effect.map(writer.write(request), () => {
          metrics.writeLatency.unsafeUpdate(Number(clock.unsafeCurrentTimeNanos() - started) / 1_000_000, [])
        })
      }).pipe(
        Effect.tapError((error) => {
          metrics.writeFailures.unsafeUpdate(1, [])
          return Effect.logWarning(`Could not write batch ${request.batchId}, retrying`, error)
        })
      )
      // The retry schedule is started only once an attempt failed, which a healthy sink never does.
      const retryAfter = (failure: unknown) =>
        Effect.flatMap(Schedule.driver(retrySchedule), (schedule) => {
          const again = (error: unknown): Effect.Effect<void, unknown> =>
            Effect.matchEffect(schedule.next(error), {
              onFailure: () => Effect.fail(error),
              onSuccess: () => Effect.catchAll(attempt, again)
            })
          return again(failure)
        })
      return attempt.pipe(
        Effect.catchAll(retryAfter),
        // No stack trace per span: spans wrap every write, and capturing one costs more than the rest.
        Effect.withSpan("flusher.write", {
          attributes: { shardId, batchId: request.batchId, records: request.size },
          captureStackTrace: false
        }),
        Effect.either,
        Effect.flatMap((result) => {
          driver.retries += attempts - 1
          return offer({ _tag: "WriteDone", request, failed: Either.isLeft(result) ? result.left : undefined })
        })
      )
    }

    // As many writer fibers as batches may be written at once, started with the shard: handing a batch to one costs
    // far less than starting a fiber for it. The processor never asks for more writes at once than there are writers.
    const writeRequests = yield* Queue.unbounded<BatchProcessor.WriteRequest<unknown>>()
    const writeLoop = Effect.forever(Effect.flatMap(Queue.take(writeRequests), writeBatch))

    // --- checkpoints: throttling and lease loss go back to the processor; a failure is retried, then fatal ---
    const saveCheckpoint = (checkpoint: Checkpoint.Checkpoint) =>
      checkpointer.save(shardId, checkpoint).pipe(
        Effect.retry({ schedule: retrySchedule, while: (error) => error.reason === "Failed" }),
        Effect.withSpan("flusher.checkpoint", {
          attributes: { shardId, checkpoint: Checkpoint.format(checkpoint) },
          captureStackTrace: false
        }),
        Effect.matchEffect({
          onSuccess: () =>
            Effect.zipRight(
              Metric.increment(metrics.checkpoints),
              offer(eventSignal(BatchProcessor.Event.CheckpointStored({ checkpoint })))
            ),
          onFailure: (error) => {
            switch (error.reason) {
              case "Throttled":
                return Effect.zipRight(
                  Effect.logInfo("Checkpoint throttled; trying again on the next tick"),
                  offer(eventSignal(BatchProcessor.Event.CheckpointRefused({ reason: "Throttled" })))
                )
              case "LeaseLost":
                return offer(eventSignal(BatchProcessor.Event.CheckpointRefused({ reason: "LeaseLost" })))
              default:
                return offer({ _tag: "Failed", error })
            }
          }
        })
      )

    // --- the driver: one event at a time through the processor, then carry out its commands ---

    const carryOut = (command: BatchProcessor.Command<unknown>) => {
      switch (command._tag) {
        case "Write":
          return Queue.offer(writeRequests, command.request)
        case "Checkpoint":
          return FiberSet.run(fibers, saveCheckpoint(command.checkpoint))
        case "Stop": {
          driver.stopped = command.outcome
          return Effect.void
        }
      }
    }

    const step = (event: BatchProcessor.Event): Effect.Effect<void, ShardError<E, SE>> =>
      Effect.suspend(() => {
        const now = clock.unsafeCurrentTimeMillis()
        const before = driver.state
        const result = BatchProcessor.step(before, event, now)
        if (Either.isLeft(result)) return Effect.fail(result.left)
        const state = result.right.state
        driver.state = state
        if (state.storedCheckpoint !== before.storedCheckpoint || BatchProcessor.outstanding(state) === 0) {
          driver.progressAt = now
        }
        const commands = result.right.commands
        return commands.length === 0 ? Effect.void : Effect.forEach(commands, carryOut, { discard: true })
      })

    const handle = (signal: Signal<SE>): Effect.Effect<void, ShardError<E, SE>> => {
      switch (signal._tag) {
        case "Event":
          return step(signal.event)
        case "Records": {
          driver.demanded = false
          const state = driver.state
          // Records pulled after a shutdown began were never given a token: the next run reads them again.
          if (state.phase._tag !== "Running") return Effect.void
          const records = signal.records
          metrics.recordsIn.unsafeUpdate(records.length, [])
          const behind = records[records.length - 1].millisBehindLatest
          if (behind !== null) metrics.behind.unsafeUpdate(behind, [])
          const ignoredBefore = state.stats.ignored
          return Effect.map(step(BatchProcessor.Event.RecordsArrived({ records })), () => {
            const ignored = driver.state.stats.ignored - ignoredBefore
            if (ignored > 0) metrics.ignored.unsafeUpdate(ignored, [])
          })
        }
        case "WriteDone": {
          const { failed, request } = signal
          if (failed !== undefined) {
            return step(BatchProcessor.Event.BatchWriteFailed({ batchId: request.batchId, cause: failed }))
          }
          metrics.batchesWritten.unsafeUpdate(1, [])
          metrics.batchRecords.unsafeUpdate(request.size, [])
          if (flusher.recordsOf !== undefined) {
            let bytes = 0
            for (const record of flusher.recordsOf(request.batch as B)) bytes += record.data.length
            metrics.batchBytes.unsafeUpdate(bytes, [])
          }
          return step(BatchProcessor.Event.BatchWritten({ batchId: request.batchId }))
        }
        case "Failed":
          return Effect.fail(signal.error)
      }
    }

    /** Handles signals until the processor stops, asking the source for records whenever there is room. */
    const drive: Effect.Effect<BatchProcessor.Outcome, ShardError<E, SE>> = Effect.gen(function*() {
      while (driver.stopped === null) {
        if (!driver.demanded) {
          const state = driver.state
          const capacity = BatchProcessor.capacity(state)
          // While writes will free room soon, wait for a worthwhile amount of it rather than take records a
          // batch at a time; with nothing being written, take whatever fits, or the shard could wait forever.
          const writing = state.writing.length > 0 || state.queued.length > 0
          if (capacity > 0 && (!writing || capacity >= demandThreshold)) {
            driver.demanded = true
            yield* Queue.offer(demand, capacity)
          }
        }
        // Every signal waiting, at once: one wake-up for several completions.
        const waiting = yield* Queue.takeBetween(signals, 1, Number.POSITIVE_INFINITY)
        for (const signal of waiting) {
          if (driver.stopped !== null) break
          yield* handle(signal)
        }
      }
      return driver.stopped
    })

    const report = (outcome: BatchProcessor.Outcome) =>
      Effect.gen(function*() {
        const state = driver.state
        const result: Report = {
          shardId,
          outcome,
          summary: {
            records: state.stats.records,
            ignored: state.stats.ignored,
            batches: state.stats.batches,
            batchesWritten: state.stats.batchesWritten,
            checkpoints: state.stats.checkpoints,
            retries: driver.retries
          }
        }
        yield* Effect.logInfo(describeOutcome(outcome))
        if (options.onStopped !== undefined) yield* options.onStopped(result)
        return result
      })

    // --- the fibers around the driver ---
    const sourceFiber = yield* FiberSet.run(fibers, source)
    for (let writer = 0; writer < config.maxConcurrentWrites; writer++) yield* FiberSet.run(fibers, writeLoop)
    yield* FiberSet.run(
      fibers,
      Effect.sleep(config.heartbeatInterval).pipe(
        Effect.zipRight(offer(eventSignal(BatchProcessor.Event.Tick()))),
        Effect.forever
      )
    )
    if (options.shutdown !== undefined) {
      yield* FiberSet.run(
        fibers,
        Effect.zipRight(
          options.shutdown,
          offer(eventSignal(BatchProcessor.Event.Shutdown({ reason: "ShutdownRequested" })))
        )
      )
    }
    if (options.leaseLost !== undefined) {
      yield* FiberSet.run(
        fibers,
        Effect.zipRight(options.leaseLost, offer(eventSignal(BatchProcessor.Event.Shutdown({ reason: "LeaseLost" }))))
      )
    }
    const currentState = () => driver.state
    yield* FiberSet.run(fibers, watchdog(config, currentState, () => driver.progressAt, metrics.stalls, offer, shardId))
    yield* FiberSet.run(fibers, gauges(currentState, metrics.outstanding, metrics.oldestAge, config.heartbeatInterval))

    // --- on interruption: a requested shutdown, finished in the finalizer within the deadline ---
    yield* Effect.addFinalizer((exit) =>
      !Exit.isInterrupted(exit) || driver.stopped !== null
        ? Effect.void
        : Effect.gen(function*() {
          yield* Effect.logInfo("Interrupted: flushing, writing and checkpointing before stopping")
          yield* Fiber.interrupt(sourceFiber)
          const drained = yield* step(BatchProcessor.Event.Shutdown({ reason: "ShutdownRequested" })).pipe(
            Effect.zipRight(drive),
            Effect.interruptible,
            Effect.timeout(config.shutdownDeadline),
            Effect.either
          )
          if (Either.isRight(drained)) {
            yield* report(drained.right)
            return
          }
          const state = driver.state
          const holdBack = BatchProcessor.holdingBack(state)
          yield* Effect.logError(
            `Shutdown did not finish: ${String(drained.left)}. Left unwritten from ` +
              `${holdBack === null ? "nothing" : Position.format(holdBack.position)}; the next run resumes from ` +
              `the last checkpoint.`
          )
          yield* report({
            reason: "ShutdownRequested",
            checkpoint: state.storedCheckpoint,
            unwritten: BatchProcessor.outstanding(state),
            firstUnwritten: holdBack === null ? null : holdBack.position
          })
        })
    )

    // A fiber that dies (a defect in a writer, say) would never report back: it fails the shard instead.
    const outcome = yield* Effect.raceFirst(drive, Effect.zipRight(FiberSet.join(fibers), Effect.never)).pipe(
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("Shard failed", cause)
      )
    )
    return yield* report(outcome)
  })

/** Publishes the outstanding records and the age of the oldest unwritten one, once per heartbeat. */
const gauges = <S, B, E>(
  currentState: () => BatchProcessor.State<S, B, E>,
  outstanding: Metric.Metric.Gauge<number>,
  oldestAge: Metric.Metric.Gauge<number>,
  every: Duration.Duration
) =>
  Effect.gen(function*() {
    const state = currentState()
    const now = yield* Clock.currentTimeMillis
    const holdBack = BatchProcessor.holdingBack(state)
    yield* Metric.set(outstanding, BatchProcessor.outstanding(state))
    yield* Metric.set(oldestAge, holdBack === null ? 0 : now - holdBack.since)
  }).pipe(Effect.zipRight(Effect.sleep(every)), Effect.forever)

/** Reports (and optionally fails) a shard whose checkpoint has not moved while records are outstanding. */
const watchdog = <S, B, E, SE>(
  config: ShardConfig.ShardConfig,
  currentState: () => BatchProcessor.State<S, B, E>,
  progressAt: () => number,
  stalls: Metric.Metric.Counter<number>,
  offer: (signal: Signal<SE>) => Effect.Effect<boolean>,
  shardId: ShardId.ShardId
) =>
  Effect.gen(function*() {
    const timeout = Duration.toMillis(config.watchdog.stallTimeout)
    // Checks often enough to notice a stall within a tenth of the timeout, and at most every second.
    const every = Duration.millis(Math.max(1, Math.min(1000, timeout / 10)))
    let reportedFor = -1
    for (;;) {
      yield* Effect.sleep(every)
      const now = yield* Clock.currentTimeMillis
      const since = progressAt()
      const state = currentState()
      if (BatchProcessor.outstanding(state) === 0 || now - since < timeout || reportedFor === since) continue
      reportedFor = since
      const holdBack = BatchProcessor.holdingBack(state)
      const stalledFor = Duration.millis(now - since)
      yield* Metric.increment(stalls)
      yield* Effect.logWarning(
        `No checkpoint progress for ${Duration.format(stalledFor)}: ${describeHoldBack(holdBack)}`
      )
      if (config.watchdog.failOnStall) {
        yield* offer({ _tag: "Failed", error: new ShardStalled({ shardId, stalledFor, holdBack }) })
      }
    }
  })

const describeError = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error) return `: ${String(error.message)}`
  return error === undefined || error === null ? "" : `: ${String(error)}`
}

const describeHoldBack = (holdBack: Watermark.HoldBack | null): string =>
  holdBack === null
    ? "nothing is outstanding."
    : `the record at ${Position.format(holdBack.position)} holds the checkpoint back` +
      (holdBack.batchId === null ? ", still in the flusher." : `, in batch ${holdBack.batchId} being written.`)

const describeOutcome = (outcome: BatchProcessor.Outcome): string => {
  const checkpoint = outcome.checkpoint === null
    ? "no checkpoint"
    : `checkpoint ${Checkpoint.format(outcome.checkpoint)}`
  const left = outcome.unwritten === 0
    ? "nothing left unwritten"
    : `${outcome.unwritten} records left unwritten from ${
      outcome.firstUnwritten === null ? "?" : Position.format(outcome.firstUnwritten)
    }`
  return `Shard stopped (${outcome.reason}): ${checkpoint}, ${left}`
}
