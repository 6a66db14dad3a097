/**
 * Test Layers that misbehave on purpose: a batch writer with latency, failures and stalls, a checkpointer that
 * throttles, fails or says the lease was lost, and a scripted shard source. Every fault is decided by a seed and
 * the identity of what it hits (a batch id and attempt, a checkpoint's position), never by the order fibers run in,
 * so a seed replays the same faults.
 *
 * The stores behind them outlive a shard run: a simulated crash stops a run, and the next run finds what was
 * written and checkpointed before it.
 *
 * @since 0.1.0
 */
import { Checkpoint, type Flusher, Position, SequenceNumber, type ShardId, StreamRecord } from "@flusher/core"
import { BatchWriter, Checkpointer } from "@flusher/runtime"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

// -----------------------------------------------------------------------------
// randomness
// -----------------------------------------------------------------------------

/**
 * A number in [0, 1) drawn from a seed and the names of what it decides: the same inputs, the same number.
 *
 * @since 0.1.0
 * @category randomness
 */
export const draw = (seed: number, ...names: ReadonlyArray<string | number>): number => {
  let hash = seed | 0
  for (const name of names) {
    const text = String(name)
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x5bd1e995)
    hash = Math.imul(hash ^ (hash >>> 15), 0x27d4eb2d)
  }
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 16
  return (hash >>> 0) / 4294967296
}

// -----------------------------------------------------------------------------
// the store
// -----------------------------------------------------------------------------

/**
 * What survives a crash: every write that completed, and the checkpoint stored, with a log of what went wrong.
 *
 * @since 0.1.0
 * @category models
 */
export interface Store {
  /** Each completed write, in order: its batch id and the positions of its records. */
  readonly writes: Array<{ readonly batchId: string; readonly positions: ReadonlyArray<string> }>
  /** How many times each record (by `Position.format`) was written. */
  readonly written: Map<string, number>
  checkpoint: Checkpoint.Checkpoint | null
  /** Broken invariants, in words. */
  readonly violations: Array<string>
  /** While set, every write and checkpoint hangs: the process is dead. */
  crashed: boolean
  /** Counts of the faults injected. */
  readonly faults: {
    writeFailures: number
    stalls: number
    throttled: number
    checkpointFailures: number
    leasesLost: number
  }
}

/**
 * An empty store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStore = (): Store => ({
  writes: [],
  written: new Map(),
  checkpoint: null,
  violations: [],
  crashed: false,
  faults: { writeFailures: 0, stalls: 0, throttled: 0, checkpointFailures: 0, leasesLost: 0 }
})

// -----------------------------------------------------------------------------
// the batch writer
// -----------------------------------------------------------------------------

/**
 * How a faulty writer misbehaves.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriterFaults {
  readonly seed: number
  /** The chance that one write attempt fails. */
  readonly failureRate: number
  /** The shortest and longest time a write takes. */
  readonly latency: { readonly min: Duration.DurationInput; readonly max: Duration.DurationInput }
  /** The chance that one write attempt stalls for `stallFor` before it completes. */
  readonly stallRate: number
  readonly stallFor: Duration.DurationInput
}

/**
 * A batch writer that records each completed write in the store, after a seeded latency, and fails or stalls some
 * attempts. It needs the flusher's `recordsOf` to know what each batch holds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const faultyWriter = <S, B, E>(
  store: Store,
  flusher: Flusher.Flusher<S, B, E>,
  faults: WriterFaults
): BatchWriter.BatchWriter["Type"] => {
  const recordsOf = flusher.recordsOf
  if (recordsOf === undefined) throw new TypeError("faultyWriter needs a flusher that exposes recordsOf")
  const attempts = new Map<string, number>()
  const min = Duration.toMillis(faults.latency.min)
  const max = Duration.toMillis(faults.latency.max)
  return BatchWriter.make<B>((request) =>
    Effect.suspend(() => {
      const attempt = (attempts.get(request.batchId) ?? 0) + 1
      attempts.set(request.batchId, attempt)
      const roll = (what: string) => draw(faults.seed, "write", what, request.batchId, attempt)
      const stall = roll("stall") < faults.stallRate
      const latency = stall ? Duration.toMillis(faults.stallFor) : min + Math.floor(roll("latency") * (max - min + 1))
      if (stall) store.faults.stalls++
      return Effect.zipRight(
        Effect.sleep(latency),
        Effect.suspend(() => {
          if (store.crashed) return Effect.never
          if (roll("fail") < faults.failureRate) {
            store.faults.writeFailures++
            return Effect.fail(
              new BatchWriter.BatchWriteError({ batchId: request.batchId, reason: "injected write failure" })
            )
          }
          const positions = recordsOf(request.batch).map(Position.format)
          for (const position of positions) store.written.set(position, (store.written.get(position) ?? 0) + 1)
          store.writes.push({ batchId: request.batchId, positions })
          return Effect.void
        })
      )
    })
  )
}

// -----------------------------------------------------------------------------
// the checkpointer
// -----------------------------------------------------------------------------

/**
 * How a faulty checkpointer misbehaves.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointerFaults {
  readonly seed: number
  /** The chance that one save is throttled. */
  readonly throttleRate: number
  /** The chance that one save fails (the runner retries it). */
  readonly failureRate: number
  /** The chance that one save is refused because the lease was lost (the run stops, and is restarted). */
  readonly leaseLossRate: number
}

/**
 * A checkpointer over the store that throttles, fails or refuses (the lease was lost) some saves. Before storing a
 * checkpoint it checks the invariant that matters most: every record up to the checkpoint was written. The records
 * of the shard, in order, tell it what "up to" holds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const faultyCheckpointer = (
  store: Store,
  records: ReadonlyArray<StreamRecord.StreamRecord>,
  faults: CheckpointerFaults
): Checkpointer.Checkpointer["Type"] => {
  const attempts = new Map<string, number>()
  return {
    load: () => Effect.sync(() => store.checkpoint),
    save: (shardId, checkpoint) =>
      Effect.suspend(() => {
        if (store.crashed) return Effect.never
        const key = Checkpoint.format(checkpoint)
        const attempt = (attempts.get(key) ?? 0) + 1
        attempts.set(key, attempt)
        const roll = (what: string) => draw(faults.seed, "checkpoint", what, key, attempt)
        if (roll("throttle") < faults.throttleRate) {
          store.faults.throttled++
          return Effect.fail(new Checkpointer.CheckpointError({ shardId, reason: "Throttled", detail: "injected" }))
        }
        if (roll("fail") < faults.failureRate) {
          store.faults.checkpointFailures++
          return Effect.fail(new Checkpointer.CheckpointError({ shardId, reason: "Failed", detail: "injected" }))
        }
        if (roll("lease") < faults.leaseLossRate) {
          store.faults.leasesLost++
          return Effect.fail(new Checkpointer.CheckpointError({ shardId, reason: "LeaseLost", detail: "injected" }))
        }
        checkInvariant(store, shardId, records, checkpoint)
        return Effect.map(Checkpointer.checkAdvance(shardId, store.checkpoint, checkpoint), (advances) => {
          if (advances) store.checkpoint = checkpoint
        })
      })
  }
}

const checkInvariant = (
  store: Store,
  shardId: ShardId.ShardId,
  records: ReadonlyArray<StreamRecord.StreamRecord>,
  checkpoint: Checkpoint.Checkpoint
) => {
  for (const record of records) {
    if (checkpoint._tag === "AtPosition" && Position.compare(record, checkpoint.position) > 0) break
    const position = Position.format(record)
    if (!store.written.has(position)) {
      store.violations.push(
        `shard ${shardId} was checkpointed at ${Checkpoint.format(checkpoint)} before ${position} was written`
      )
      return
    }
  }
}

// -----------------------------------------------------------------------------
// the source
// -----------------------------------------------------------------------------

/**
 * The records of a simulated shard: `count` records with ascending 56-digit sequence numbers, one in every
 * `aggregateEvery` split from an aggregate into three parts (0 for none).
 *
 * @since 0.1.0
 * @category constructors
 */
export const shardRecords = (count: number, aggregateEvery = 0): ReadonlyArray<StreamRecord.StreamRecord> => {
  const records: Array<StreamRecord.StreamRecord> = []
  for (let n = 0; records.length < count; n++) {
    const sequenceNumber = SequenceNumber.unsafeMake(`4959033827149025660855969253836157109592157598913${pad(n)}`)
    const parts = aggregateEvery > 0 && n % aggregateEvery === aggregateEvery - 1 ? 3 : 1
    for (let index = 0; index < parts && records.length < count; index++) {
      records.push(StreamRecord.make({
        sequenceNumber,
        subSequenceNumber: 0,
        aggregate: parts === 1 ? null : { index, size: parts },
        partitionKey: `key-${n % 7}`,
        data: new Uint8Array(16 + (n % 50))
      }))
    }
  }
  return records
}

const pad = (n: number) => n.toString().padStart(7, "0")

/**
 * A source that replays a shard's records after a checkpoint, in chunks of seeded sizes with seeded pauses, and
 * ends when they run out (the end of the shard).
 *
 * @since 0.1.0
 * @category constructors
 */
export const scriptedSource = (
  records: ReadonlyArray<StreamRecord.StreamRecord>,
  checkpoint: Checkpoint.Checkpoint | null,
  script: { readonly seed: number; readonly maxChunk: number; readonly maxPause: Duration.DurationInput }
): Stream.Stream<StreamRecord.StreamRecord> => {
  const start = checkpoint === null
    ? 0
    : checkpoint._tag === "ShardEnd"
    ? records.length
    : records.findIndex((record) => Position.compare(record, checkpoint.position) > 0)
  const maxPause = Duration.toMillis(script.maxPause)
  return Stream.unfoldChunkEffect(start === -1 ? records.length : start, (next) => {
    if (next >= records.length) return Effect.succeed(Option.none())
    const size = 1 + Math.floor(draw(script.seed, "chunk", next) * script.maxChunk)
    const pause = Math.floor(draw(script.seed, "pause", next) * maxPause)
    const end = Math.min(records.length, next + size)
    return Effect.as(
      Effect.sleep(pause),
      Option.some([Chunk.unsafeFromArray(records.slice(next, end)), end] as const)
    )
  })
}
