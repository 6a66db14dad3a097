/**
 * The batch processor: one shard's batching and checkpointing, as a pure state machine.
 *
 * `step(state, event, now)` returns the next state and the commands to carry out: write this batch, checkpoint
 * here, stop. Time is an argument; nothing here performs I/O. The runtime feeds it events (records arrived, a
 * heartbeat tick, a write or checkpoint finished, a shutdown) and interprets its commands.
 *
 * What it guarantees:
 *
 * - A checkpoint never passes a record that was not written (or ignored), and never moves backwards.
 * - Every token a flusher gives back is checked; a flusher that breaks its contract stops the shard with a typed
 *   error that names the record, before anything is checkpointed on its word.
 * - A flusher that answers `Full` is flushed and offered the record again; `Full` once more is a typed error.
 * - A batch is flushed when its oldest record is older than the flush interval, on the next records or the next
 *   tick, whichever comes first; the flusher's heartbeat runs on every tick.
 * - Checkpoints follow their own cadence (an interval, or after every write), only when the position advanced.
 *   Ignored records never hold them back, trailing ones included.
 * - At most `maxOutstanding` records are outstanding: past it, `capacity` is 0 and the source must wait.
 * - At most `maxConcurrentWrites` batches are written at once; completions may come back in any order.
 * - Shutdown: a shard that ended is flushed in full, every write awaited, and checkpointed at its end; a requested
 *   shutdown is flushed in full and checkpointed at the last written position; a lost lease stops at once, with no
 *   flush and no checkpoint. Each ends in a `Stop` command with an `Outcome` that says what was checkpointed and
 *   what was left unwritten.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Checkpoint from "./Checkpoint.js"
import type * as Flusher from "./Flusher.js"
import type { FlushMode } from "./FlushMode.js"
import * as Runs from "./internal/runs.js"
import * as Position from "./Position.js"
import type { ShardId } from "./ShardId.js"
import type { StreamRecord } from "./StreamRecord.js"
import type { Token } from "./Token.js"
import * as Watermark from "./Watermark.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * How a processor is set up.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<S, B, E> {
  readonly shardId: ShardId
  readonly flusher: Flusher.Flusher<S, B, E>
  /** Flush when the oldest record the flusher holds is this old. Default 5 seconds. */
  readonly flushInterval?: Duration.DurationInput | undefined
  /** Checkpoint at most once per interval, or `"everyWrite"`: after every write that moved it. Default 1 minute. */
  readonly checkpointInterval?: Duration.DurationInput | "everyWrite" | undefined
  /** The most records outstanding (not yet below the checkpoint) before the source must wait. Default 10 000. */
  readonly maxOutstanding?: number | undefined
  /** The most batches written at once. Default 1. */
  readonly maxConcurrentWrites?: number | undefined
  /** Allow checkpoints at a non-final part of an aggregate the worker split. Default false. */
  readonly subRecordCheckpoints?: boolean | undefined
  /** Where the shard was checkpointed before, so the processor neither repeats nor regresses it. */
  readonly lastCheckpoint?: Checkpoint.Checkpoint | null | undefined
}

/**
 * The options with their defaults applied.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config<S, B, E> {
  readonly shardId: ShardId
  readonly flusher: Flusher.Flusher<S, B, E>
  readonly flushIntervalMillis: number
  /** `0` checkpoints after every write. */
  readonly checkpointIntervalMillis: number
  readonly maxOutstanding: number
  readonly maxConcurrentWrites: number
  /** The id of a batch: the shard id and the text forms of its first and last positions. */
  readonly batchIdOf: (first: Position.Position, last: Position.Position) => string
}

/**
 * Why a shard stops.
 *
 * - `ShardEnded`: the shard was read to its end (it was split or merged, or the stream ended). Everything is
 *   written and the end of the shard is checkpointed, or its child shards never start.
 * - `ShutdownRequested`: a deploy, or a graceful lease hand-off. Everything is written and checkpointed.
 * - `LeaseLost`: another worker owns the shard now. Nothing is flushed or checkpointed.
 *
 * @since 0.1.0
 * @category models
 */
export type ShutdownReason = "ShardEnded" | "ShutdownRequested" | "LeaseLost"

/**
 * How a shard stopped.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly reason: ShutdownReason
  /** The last checkpoint stored, if any. */
  readonly checkpoint: Checkpoint.Checkpoint | null
  /** How many records the shard received and did not write (0 unless the lease was lost). */
  readonly unwritten: number
  /** The first of them. */
  readonly firstUnwritten: Position.Position | null
}

/**
 * The events a processor reacts to.
 *
 * @since 0.1.0
 * @category models
 */
export type Event = Data.TaggedEnum<{
  /** Records of the shard, in order, in bulk: they are processed in one step. */
  RecordsArrived: { readonly records: ReadonlyArray<StreamRecord> }
  /** The heartbeat timer fired. */
  Tick: {}
  BatchWritten: { readonly batchId: string }
  /** A batch could not be written, after whatever retries the runtime made. The shard fails. */
  BatchWriteFailed: { readonly batchId: string; readonly cause: unknown }
  CheckpointStored: { readonly checkpoint: Checkpoint.Checkpoint }
  /** `Throttled`: try again later. `LeaseLost`: another worker owns the shard; stop. */
  CheckpointRefused: { readonly reason: "Throttled" | "LeaseLost" }
  Shutdown: { readonly reason: ShutdownReason }
}>

/**
 * Constructors and matchers for events.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Event = Data.taggedEnum<Event>()

/**
 * A flushed batch to write. The id is made of the shard id and the first and last positions, so the same records
 * always get the same id and a writer can make a retried write replace the first attempt.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteRequest<B> {
  readonly shardId: ShardId
  readonly batchId: string
  readonly first: Position.Position
  readonly last: Position.Position
  /** How many records the batch holds. */
  readonly size: number
  readonly batch: B
}

/**
 * What the runtime must do.
 *
 * @since 0.1.0
 * @category models
 */
export type Command<B> =
  | { readonly _tag: "Write"; readonly request: WriteRequest<B> }
  | { readonly _tag: "Checkpoint"; readonly checkpoint: Checkpoint.Checkpoint }
  | { readonly _tag: "Stop"; readonly outcome: Outcome }

/**
 * Where a processor is in its life.
 *
 * @since 0.1.0
 * @category models
 */
export type Phase =
  | { readonly _tag: "Running" }
  | { readonly _tag: "Draining"; readonly reason: "ShardEnded" | "ShutdownRequested" }
  | { readonly _tag: "Stopped"; readonly outcome: Outcome }

/**
 * Counts since the processor started.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly records: number
  readonly ignored: number
  readonly batches: number
  readonly batchesWritten: number
  readonly checkpoints: number
}

/**
 * The state of a processor. Treat it as opaque and read it through the getters.
 *
 * @since 0.1.0
 * @category models
 */
export interface State<S, B, E> {
  readonly config: Config<S, B, E>
  readonly phase: Phase
  readonly flusherState: S
  readonly watermark: Watermark.Watermark
  /** Flushed batches waiting for a write slot, oldest first. */
  readonly queued: ReadonlyArray<WriteRequest<B>>
  /** The ids of the batches being written. */
  readonly writing: ReadonlyArray<string>
  /** When the oldest record the flusher holds arrived, or `null` when it holds none. */
  readonly heldSince: number | null
  /** The last record received, to check that records come in order. */
  readonly lastPosition: Position.Position | null
  readonly storedCheckpoint: Checkpoint.Checkpoint | null
  readonly pendingCheckpoint: Checkpoint.Checkpoint | null
  readonly lastCheckpointAt: number
  /** A checkpoint was throttled: try again on the next tick. */
  readonly checkpointRetryDue: boolean
  readonly stats: Stats
}

/**
 * The result of a step: the next state and what to do.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transition<S, B, E> {
  readonly state: State<S, B, E>
  readonly commands: ReadonlyArray<Command<B>>
}

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * What a flusher did against its contract.
 *
 * - a `Watermark.TokenProblem`: it gave back a token it did not hold;
 * - `IncompleteFullFlush`: a `full` flush left a record in the flusher;
 * - `FullAfterFlush`: it answered `Full` again for a record after a flush.
 *
 * @since 0.1.0
 * @category errors
 */
export type Violation = Watermark.TokenProblem | "IncompleteFullFlush" | "FullAfterFlush"

/**
 * The flusher broke its contract. Nothing was checkpointed on its word; fix the flusher (the laws of
 * `@flusher/testing` find such faults in a unit test).
 *
 * @since 0.1.0
 * @category errors
 */
export class ContractViolation extends Data.TaggedError("ContractViolation")<{
  readonly shardId: ShardId
  readonly violation: Violation
  readonly token: number | null
  readonly position: Position.Position | null
  readonly detail: string
}> {
  override get message(): string {
    return `The flusher of shard ${this.shardId} broke its contract (${this.violation}): ${this.detail} ` +
      `The shard stops with nothing checkpointed past this record; check the flusher with @flusher/testing's laws.`
  }
}

/**
 * The flusher returned its own error.
 *
 * @since 0.1.0
 * @category errors
 */
export class FlusherFailed<E> extends Data.TaggedError("FlusherFailed")<{
  readonly shardId: ShardId
  readonly operation: "add" | "flush" | "heartbeat"
  readonly position: Position.Position | null
  readonly error: E
}> {
  override get message(): string {
    const where = this.position === null ? "" : ` on the record at ${Position.format(this.position)}`
    const inner = typeof this.error === "object" && this.error !== null && "message" in this.error ?
      `: ${String(this.error.message)}` :
      ""
    return `The flusher of shard ${this.shardId} failed in ${this.operation}${where}${inner}`
  }
}

/**
 * A record that does not come after the one before it.
 *
 * @since 0.1.0
 * @category errors
 */
export class RecordOutOfOrder extends Data.TaggedError("RecordOutOfOrder")<{
  readonly shardId: ShardId
  readonly position: Position.Position
  readonly previous: Position.Position
}> {
  override get message(): string {
    return `Shard ${this.shardId} received the record at ${Position.format(this.position)} after the one at ` +
      `${Position.format(this.previous)}: records must come in ascending order of position. The source replayed or ` +
      `reordered records; nothing was checkpointed past the earlier one.`
  }
}

/**
 * A batch could not be written. Nothing is checkpointed past its first record.
 *
 * @since 0.1.0
 * @category errors
 */
export class WriteFailed extends Data.TaggedError("WriteFailed")<{
  readonly shardId: ShardId
  readonly batchId: string
  readonly first: Position.Position
  readonly last: Position.Position
  readonly cause: unknown
}> {
  override get message(): string {
    return `Batch ${this.batchId} of shard ${this.shardId} could not be written; the shard stops with nothing ` +
      `checkpointed from ${Position.format(this.first)} on, and resumes from its last checkpoint when restarted.`
  }
}

/**
 * An event that cannot happen in this state: a bug in whatever drives the processor.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedEvent extends Data.TaggedError("UnexpectedEvent")<{
  readonly shardId: ShardId
  readonly event: Event["_tag"]
  readonly detail: string
}> {
  override get message(): string {
    return `Shard ${this.shardId} did not expect ${this.event}: ${this.detail}`
  }
}

/**
 * Every error a step can return.
 *
 * @since 0.1.0
 * @category errors
 */
export type ProcessorError<E> = ContractViolation | FlusherFailed<E> | RecordOutOfOrder | WriteFailed | UnexpectedEvent

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * A processor for a shard, before any record arrived.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <S, B, E>(options: Options<S, B, E>): State<S, B, E> => {
  const checkpointInterval = options.checkpointInterval ?? "1 minute"
  const config: Config<S, B, E> = {
    shardId: options.shardId,
    flusher: options.flusher,
    flushIntervalMillis: Duration.toMillis(options.flushInterval ?? "5 seconds"),
    checkpointIntervalMillis: checkpointInterval === "everyWrite" ? 0 : Duration.toMillis(checkpointInterval),
    maxOutstanding: positiveInteger("maxOutstanding", options.maxOutstanding ?? 10_000),
    maxConcurrentWrites: positiveInteger("maxConcurrentWrites", options.maxConcurrentWrites ?? 1),
    batchIdOf: (first, last) => `${options.shardId}_${Position.format(first)}_${Position.format(last)}`
  }
  return {
    config,
    phase: running,
    flusherState: options.flusher.init(options.shardId),
    watermark: Watermark.make({ subRecordCheckpoints: options.subRecordCheckpoints ?? false }),
    queued: [],
    writing: [],
    heldSince: null,
    lastPosition: null,
    storedCheckpoint: options.lastCheckpoint ?? null,
    pendingCheckpoint: null,
    lastCheckpointAt: -Infinity,
    checkpointRetryDue: false,
    stats: { records: 0, ignored: 0, batches: 0, batchesWritten: 0, checkpoints: 0 }
  }
}

const running: Phase = { _tag: "Running" }

const positiveInteger = (name: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`)
  return value
}

// -----------------------------------------------------------------------------
// getters
// -----------------------------------------------------------------------------

/**
 * How many more records the source may send now: 0 while the outstanding bound is reached, and always 0 once
 * shutdown started.
 *
 * @since 0.1.0
 * @category getters
 */
export const capacity = <S, B, E>(self: State<S, B, E>): number =>
  self.phase._tag === "Running"
    ? Math.max(0, self.config.maxOutstanding - Watermark.outstanding(self.watermark))
    : 0

/**
 * How many records are outstanding: received, and not yet below the checkpoint position.
 *
 * @since 0.1.0
 * @category getters
 */
export const outstanding = <S, B, E>(self: State<S, B, E>): number => Watermark.outstanding(self.watermark)

/**
 * Where the shard may checkpoint now (it may not have been stored yet).
 *
 * @since 0.1.0
 * @category getters
 */
export const safeCheckpoint = <S, B, E>(self: State<S, B, E>): Position.Position | null =>
  Watermark.checkpoint(self.watermark)

/**
 * What holds the checkpoint back: the oldest record not yet written, when it arrived and which batch holds it.
 *
 * @since 0.1.0
 * @category getters
 */
export const holdingBack = <S, B, E>(self: State<S, B, E>): Watermark.HoldBack | null =>
  Watermark.holdingBack(self.watermark)

/**
 * Whether the processor stopped, and how.
 *
 * @since 0.1.0
 * @category getters
 */
export const outcome = <S, B, E>(self: State<S, B, E>): Outcome | null =>
  self.phase._tag === "Stopped" ? self.phase.outcome : null

// -----------------------------------------------------------------------------
// transitions
// -----------------------------------------------------------------------------

/**
 * Reacts to one event at time `now` (epoch milliseconds). The given state is left as it was.
 *
 * @since 0.1.0
 * @category transitions
 */
export const step = <S, B, E>(
  self: State<S, B, E>,
  event: Event,
  now: number
): Either.Either<Transition<S, B, E>, ProcessorError<E>> => {
  const machine = new Machine(self, now)
  try {
    machine.handle(event)
  } catch (failure) {
    if (failure instanceof StepFailure) return Either.left(failure.error as ProcessorError<E>)
    throw failure
  }
  return Either.right({ state: machine.freeze(), commands: machine.commands })
}

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

/** Carries a typed error out of the depths of a step. */
class StepFailure {
  constructor(readonly error: ProcessorError<unknown>) {}
}

/**
 * The working copy of a state during one step. It starts from the given state, changes only its own fields, and
 * becomes the next state; nothing of the given state is changed.
 */
class Machine<S, B, E> {
  readonly config: Config<S, B, E>
  readonly shardId: ShardId
  readonly commands: Array<Command<B>> = []
  phase: Phase
  flusherState: S
  watermark: Watermark.Watermark
  queued: ReadonlyArray<WriteRequest<B>>
  writing: ReadonlyArray<string>
  heldSince: number | null
  lastPosition: Position.Position | null
  storedCheckpoint: Checkpoint.Checkpoint | null
  pendingCheckpoint: Checkpoint.Checkpoint | null
  lastCheckpointAt: number
  checkpointRetryDue: boolean
  records: number
  ignored: number
  batches: number
  batchesWritten: number
  checkpoints: number
  isTick = false

  constructor(state: State<S, B, E>, readonly now: number) {
    this.config = state.config
    this.shardId = state.config.shardId
    this.phase = state.phase
    this.flusherState = state.flusherState
    this.watermark = state.watermark
    this.queued = state.queued
    this.writing = state.writing
    this.heldSince = state.heldSince
    this.lastPosition = state.lastPosition
    this.storedCheckpoint = state.storedCheckpoint
    this.pendingCheckpoint = state.pendingCheckpoint
    this.lastCheckpointAt = state.lastCheckpointAt
    this.checkpointRetryDue = state.checkpointRetryDue
    this.records = state.stats.records
    this.ignored = state.stats.ignored
    this.batches = state.stats.batches
    this.batchesWritten = state.stats.batchesWritten
    this.checkpoints = state.stats.checkpoints
  }

  freeze(): State<S, B, E> {
    return {
      config: this.config,
      phase: this.phase,
      flusherState: this.flusherState,
      watermark: this.watermark,
      queued: this.queued,
      writing: this.writing,
      heldSince: this.heldSince,
      lastPosition: this.lastPosition,
      storedCheckpoint: this.storedCheckpoint,
      pendingCheckpoint: this.pendingCheckpoint,
      lastCheckpointAt: this.lastCheckpointAt,
      checkpointRetryDue: this.checkpointRetryDue,
      stats: {
        records: this.records,
        ignored: this.ignored,
        batches: this.batches,
        batchesWritten: this.batchesWritten,
        checkpoints: this.checkpoints
      }
    }
  }

  fail(error: ProcessorError<E>): never {
    throw new StepFailure(error)
  }

  unexpected(event: Event, detail: string): never {
    return this.fail(new UnexpectedEvent({ shardId: this.shardId, event: event._tag, detail }))
  }

  handle(event: Event): void {
    if (this.phase._tag === "Stopped") return this.handleWhenStopped(event, this.phase.outcome)
    switch (event._tag) {
      case "RecordsArrived": {
        if (this.phase._tag !== "Running") {
          return this.unexpected(event, `records arrived after the shutdown (${this.phase.reason}) began`)
        }
        this.flushIfDue()
        this.receive(event.records)
        break
      }
      case "Tick": {
        this.isTick = true
        if (this.phase._tag === "Running") {
          this.applyFlush(this.config.flusher.heartbeat(this.flusherState, this.now), "heartbeat")
          this.flushIfDue()
        }
        break
      }
      case "BatchWritten": {
        if (!this.writing.includes(event.batchId)) {
          return this.unexpected(event, `batch ${event.batchId} is not being written`)
        }
        this.writing = without(this.writing, event.batchId)
        const completed = Watermark.complete(this.watermark, event.batchId)
        if (Either.isLeft(completed)) return this.unexpected(event, completed.left.message)
        this.watermark = completed.right
        this.batchesWritten++
        break
      }
      case "BatchWriteFailed": {
        const batch = this.writing.includes(event.batchId) ? Watermark.batch(this.watermark, event.batchId) : undefined
        if (batch === undefined) return this.unexpected(event, `batch ${event.batchId} is not being written`)
        return this.fail(
          new WriteFailed({
            shardId: this.shardId,
            batchId: batch.id,
            first: batch.first,
            last: batch.last,
            cause: event.cause
          })
        )
      }
      case "CheckpointStored": {
        if (this.pendingCheckpoint === null) return this.unexpected(event, "no checkpoint was requested")
        if (Checkpoint.compare(event.checkpoint, this.pendingCheckpoint) !== 0) {
          return this.unexpected(
            event,
            `the checkpoint requested was ${Checkpoint.format(this.pendingCheckpoint)}, not ` +
              Checkpoint.format(event.checkpoint)
          )
        }
        this.storedCheckpoint = this.pendingCheckpoint
        this.pendingCheckpoint = null
        this.checkpoints++
        if (Checkpoint.isShardEnd(this.storedCheckpoint)) return this.stop("ShardEnded")
        break
      }
      case "CheckpointRefused": {
        if (this.pendingCheckpoint === null) return this.unexpected(event, "no checkpoint was requested")
        this.pendingCheckpoint = null
        if (event.reason === "LeaseLost") return this.stop("LeaseLost")
        this.checkpointRetryDue = true
        break
      }
      case "Shutdown": {
        if (event.reason === "LeaseLost") return this.stop("LeaseLost")
        if (this.phase._tag === "Running") this.flushAll()
        // The end of the shard outranks a requested shutdown: its checkpoint is what lets child shards start.
        const ended = event.reason === "ShardEnded" ||
          (this.phase._tag === "Draining" && this.phase.reason === "ShardEnded")
        this.phase = { _tag: "Draining", reason: ended ? "ShardEnded" : "ShutdownRequested" }
        break
      }
    }
    this.afterEvent()
  }

  handleWhenStopped(event: Event, outcome: Outcome): void {
    switch (event._tag) {
      case "Tick":
        return
      case "Shutdown": {
        if (event.reason === "LeaseLost") return this.stop("LeaseLost")
        // A shard whose requested shutdown finished may then end (the KCL sends shutdownRequested, then
        // shardEnded): everything is written, so only the end of the shard remains to be checkpointed.
        if (outcome.reason === "ShutdownRequested" && event.reason === "ShardEnded") {
          this.phase = { _tag: "Draining", reason: "ShardEnded" }
          return this.afterEvent()
        }
        if (outcome.reason === event.reason) return this.stop(event.reason)
        return this.unexpected(event, `the shard already stopped (${outcome.reason})`)
      }
      default:
        return this.unexpected(event, `the shard already stopped (${outcome.reason})`)
    }
  }

  /** Offers records to the flusher, in order, flushing whenever it is full. This is the per-record path. */
  receive(records: ReadonlyArray<StreamRecord>): void {
    if (records.length === 0) return
    const { add, addAll } = this.config.flusher
    const now = this.now

    // Order first, for the whole chunk: an error discards the step, so nothing is half done.
    let previous = this.lastPosition
    for (let i = 0; i < records.length; i++) {
      const record = records[i]
      if (previous !== null && !Position.isAfter(record, previous)) {
        return this.fail(
          new RecordOutOfOrder({
            shardId: this.shardId,
            position: Position.of(record),
            previous: Position.of(previous)
          })
        )
      }
      previous = record
    }

    this.watermark = Watermark.reserve(this.watermark, records, now)
    const firstToken = this.watermark.issued
    let flusherState = this.flusherState
    // Accepted since the last commit, and the runs of those ignored, both given to the watermark at once.
    let accepted = 0
    let ignoredRuns: Array<number> = []
    let ignoredCount = 0
    let added = false

    for (let i = 0; i < records.length;) {
      if (addAll !== undefined) {
        const bulk = addAll(flusherState, records, i, records.length, (firstToken + i) as Token, now)
        if (bulk.count > 0) {
          flusherState = bulk.state
          accepted += bulk.count
          added = true
          i += bulk.count
          continue
        }
      }
      const record = records[i]
      const token = firstToken + i
      let result = add(flusherState, record, token as Token, now)
      if (result._tag === "Full") {
        this.flusherState = flusherState
        this.commit(accepted, ignoredRuns)
        if (added && this.heldSince === null) this.heldSince = now
        // The watermark keeps the committed runs: start a new array rather than clear that one.
        accepted = 0
        ignoredRuns = []
        added = false
        this.flush("partial")
        flusherState = this.flusherState
        result = add(flusherState, record, token as Token, now)
        if (result._tag === "Full") {
          return this.violation(
            "FullAfterFlush",
            token,
            "it answered Full for this record again after a partial flush, which must make room."
          )
        }
      }
      if (result._tag === "Added") {
        flusherState = result.state
        added = true
      } else if (result._tag === "Ignored") {
        flusherState = result.state
        const runs = ignoredRuns.length
        if (runs > 0 && ignoredRuns[runs - 1] === token) ignoredRuns[runs - 1] = token + 1
        else ignoredRuns.push(token, token + 1)
        ignoredCount++
      } else {
        return this.fail(
          new FlusherFailed({
            shardId: this.shardId,
            operation: "add",
            position: Position.of(record),
            error: result.error
          })
        )
      }
      accepted++
      i++
    }

    this.flusherState = flusherState
    this.commit(accepted, ignoredRuns)
    if (added && this.heldSince === null) this.heldSince = now
    this.lastPosition = previous === null ? null : Position.of(previous)
    this.records += records.length
    this.ignored += ignoredCount
  }

  /** Issues the tokens accepted so far in this step. */
  commit(accepted: number, ignoredRuns: ReadonlyArray<number>): void {
    this.watermark = Watermark.issue(this.watermark, accepted, ignoredRuns.length === 0 ? Runs.empty : ignoredRuns)
  }

  flushIfDue(): void {
    if (this.heldSince !== null && this.now - this.heldSince >= this.config.flushIntervalMillis) this.flush("partial")
  }

  flush(mode: FlushMode): void {
    this.applyFlush(this.config.flusher.flush(this.flusherState, mode), "flush")
  }

  /** A full flush; the flusher must be left holding nothing. */
  flushAll(): void {
    this.flush("full")
    const left = Watermark.oldestHeld(this.watermark)
    if (left !== null) {
      this.violation("IncompleteFullFlush", left, "a full flush left this record in the flusher.")
    }
  }

  applyFlush(result: Flusher.FlushResult<S, B, E>, operation: "flush" | "heartbeat"): void {
    switch (result._tag) {
      case "Failed":
        return this.fail(new FlusherFailed({ shardId: this.shardId, operation, position: null, error: result.error }))
      case "NotFlushed": {
        this.flusherState = result.state
        return
      }
      case "Flushed": {
        this.flusherState = result.state
        if (result.tokens.length === 0) return
        const assigned = Watermark.assign(this.watermark, result.tokens, this.config.batchIdOf)
        if (Either.isLeft(assigned)) {
          const refused = assigned.left
          return this.violation(refused.problem, refused.token, refused.message, refused.position)
        }
        this.watermark = assigned.right.watermark
        const batch = assigned.right.batch
        this.queued = [...this.queued, {
          shardId: this.shardId,
          batchId: batch.id,
          first: batch.first,
          last: batch.last,
          size: batch.size,
          batch: result.batch
        }]
        this.batches++
        this.heldSince = Watermark.oldestHeldSince(this.watermark)
      }
    }
  }

  violation(
    violation: Violation,
    token: number,
    detail: string,
    position: Position.Position | null = Watermark.positionOf(this.watermark, token)
  ): never {
    return this.fail(
      new ContractViolation({
        shardId: this.shardId,
        violation,
        token,
        position: position === null ? null : Position.of(position),
        detail
      })
    )
  }

  /** What every event ends with: start writes, relieve the outstanding bound, checkpoint, finish a shutdown. */
  afterEvent(): void {
    this.startWrites()
    if (this.phase._tag === "Running" && this.isIdleAtBound()) {
      // Nothing being written will move the checkpoint: flush, or the source waits forever.
      this.flush("partial")
      const holdBack = Watermark.holdingBack(this.watermark)
      if (holdBack !== null && holdBack.batchId === null) this.flushAll()
      this.startWrites()
    }
    this.maybeCheckpoint()
  }

  isIdleAtBound(): boolean {
    return this.writing.length === 0 && this.queued.length === 0 &&
      Watermark.outstanding(this.watermark) >= this.config.maxOutstanding
  }

  startWrites(): void {
    while (this.writing.length < this.config.maxConcurrentWrites && this.queued.length > 0) {
      const request = this.queued[0]
      this.queued = this.queued.slice(1)
      this.writing = [...this.writing, request.batchId]
      this.commands.push({ _tag: "Write", request })
    }
  }

  maybeCheckpoint(): void {
    if (this.pendingCheckpoint !== null || this.phase._tag === "Stopped") return
    // After a throttled checkpoint, wait for the next tick rather than asking again at once.
    if (this.checkpointRetryDue && !this.isTick) return
    const drained = this.phase._tag === "Draining" && this.writing.length === 0 && this.queued.length === 0

    if (drained && this.phase._tag === "Draining" && this.phase.reason === "ShardEnded") {
      return this.requestCheckpoint(Checkpoint.shardEnd)
    }
    const candidate = Watermark.checkpoint(this.watermark)
    const advanced = candidate !== null && this.isAhead(candidate)
    if (drained) {
      return advanced ? this.requestCheckpoint(Checkpoint.atPosition(candidate)) : this.stop("ShutdownRequested")
    }
    const due = this.checkpointRetryDue || this.now - this.lastCheckpointAt >= this.config.checkpointIntervalMillis
    if (advanced && due) this.requestCheckpoint(Checkpoint.atPosition(candidate))
  }

  isAhead(candidate: Position.Position): boolean {
    const stored = this.storedCheckpoint
    if (stored === null) return true
    return stored._tag === "AtPosition" && Position.compare(candidate, stored.position) > 0
  }

  requestCheckpoint(checkpoint: Checkpoint.Checkpoint): void {
    this.pendingCheckpoint = checkpoint
    this.lastCheckpointAt = this.now
    this.checkpointRetryDue = false
    this.commands.push({ _tag: "Checkpoint", checkpoint })
  }

  stop(reason: ShutdownReason): void {
    const holdBack = Watermark.holdingBack(this.watermark)
    const outcome: Outcome = {
      reason,
      checkpoint: this.storedCheckpoint,
      unwritten: this.watermark.held + Runs.size(this.watermark.assigned),
      firstUnwritten: holdBack === null ? null : Position.of(holdBack.position)
    }
    this.phase = { _tag: "Stopped", outcome }
    this.pendingCheckpoint = null
    this.commands.push({ _tag: "Stop", outcome })
  }
}

const without = (ids: ReadonlyArray<string>, id: string): ReadonlyArray<string> => {
  const index = ids.indexOf(id)
  if (index === -1) return ids
  const rest = ids.slice()
  rest.splice(index, 1)
  return rest
}
