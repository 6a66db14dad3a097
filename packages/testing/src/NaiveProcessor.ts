/**
 * A naive batch processor: a reference model for `BatchProcessor`, written for obviousness rather than speed.
 *
 * It follows the same rules, but keeps every token it ever issued in a `NaiveWatermark` and recomputes what it
 * needs (the checkpoint, what is outstanding, the oldest record held) from scratch at every step. Tests run both on
 * the same events and compare what they command.
 *
 * @since 0.1.0
 */
import { type BatchProcessor, Checkpoint, type Flusher, Position, type ShardId, Token } from "@flusher/core"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as NaiveWatermark from "./NaiveWatermark.js"

/**
 * The kind of error a naive step ends with: the `_tag` of the matching `BatchProcessor` error.
 *
 * @since 0.1.0
 * @category models
 */
export interface NaiveError {
  readonly _tag: BatchProcessor.ProcessorError<unknown>["_tag"]
  readonly detail: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NaiveState<S, B, E> {
  readonly shardId: ShardId.ShardId
  readonly flusher: Flusher.Flusher<S, B, E>
  readonly flushIntervalMillis: number
  readonly checkpointIntervalMillis: number
  readonly maxOutstanding: number
  readonly maxConcurrentWrites: number
  readonly phase: BatchProcessor.Phase
  readonly flusherState: S
  readonly watermark: NaiveWatermark.NaiveWatermark
  /** When each token's record arrived, by token. */
  readonly arrivedAt: ReadonlyArray<number>
  readonly queued: ReadonlyArray<BatchProcessor.WriteRequest<B>>
  readonly writing: ReadonlyArray<string>
  readonly lastPosition: Position.Position | null
  readonly storedCheckpoint: Checkpoint.Checkpoint | null
  readonly pendingCheckpoint: Checkpoint.Checkpoint | null
  readonly lastCheckpointAt: number
  readonly checkpointRetryDue: boolean
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = <S, B, E>(options: BatchProcessor.Options<S, B, E>): NaiveState<S, B, E> => {
  const checkpointInterval = options.checkpointInterval ?? "1 minute"
  return {
    shardId: options.shardId,
    flusher: options.flusher,
    flushIntervalMillis: Duration.toMillis(options.flushInterval ?? "5 seconds"),
    checkpointIntervalMillis: checkpointInterval === "everyWrite" ? 0 : Duration.toMillis(checkpointInterval),
    maxOutstanding: options.maxOutstanding ?? 10_000,
    maxConcurrentWrites: options.maxConcurrentWrites ?? 1,
    phase: { _tag: "Running" },
    flusherState: options.flusher.init(options.shardId),
    watermark: NaiveWatermark.make({ subRecordCheckpoints: options.subRecordCheckpoints ?? false }),
    arrivedAt: [],
    queued: [],
    writing: [],
    lastPosition: null,
    storedCheckpoint: options.lastCheckpoint ?? null,
    pendingCheckpoint: null,
    lastCheckpointAt: -Infinity,
    checkpointRetryDue: false
  }
}

/**
 * Records outstanding: issued, and not yet below the checkpoint.
 *
 * @since 0.1.0
 * @category getters
 */
export const outstanding = <S, B, E>(self: NaiveState<S, B, E>): number => NaiveWatermark.outstanding(self.watermark)

/**
 * One step, by the same rules as `BatchProcessor.step`.
 *
 * @since 0.1.0
 * @category transitions
 */
export const step = <S, B, E>(
  self: NaiveState<S, B, E>,
  event: BatchProcessor.Event,
  now: number
): Either.Either<
  { readonly state: NaiveState<S, B, E>; readonly commands: ReadonlyArray<BatchProcessor.Command<B>> },
  NaiveError
> => {
  let state = self
  let isTick = false
  const commands: Array<BatchProcessor.Command<B>> = []
  const fail = (tag: NaiveError["_tag"], detail: string) => {
    throw new NaiveFailure({ _tag: tag, detail })
  }

  const heldTokens = () => NaiveWatermark.held(state.watermark)
  const oldestHeldSince = () => {
    const held = heldTokens()
    return held.length === 0 ? null : Math.min(...held.map((token) => state.arrivedAt[token]))
  }
  const firstNotDone = () => NaiveWatermark.doneCount(state.watermark)

  const applyFlush = (result: Flusher.FlushResult<S, B, E>) => {
    if (result._tag === "Failed") return fail("FlusherFailed", "flush or heartbeat failed")
    state = { ...state, flusherState: result.state }
    if (result._tag === "NotFlushed" || result.tokens.length === 0) return
    const tokens = result.tokens.map(Token.toNumber)
    const sorted = [...tokens].sort((a, b) => a - b)
    const first = state.watermark.entries[sorted[0]]?.position
    const last = state.watermark.entries[sorted[sorted.length - 1]]?.position
    const batchId = first === undefined || last === undefined ?
      "" :
      `${state.shardId}_${Position.format(first)}_${Position.format(last)}`
    const assigned = NaiveWatermark.assign(state.watermark, tokens, batchId)
    if ("refused" in assigned) return fail("ContractViolation", `token ${assigned.refused}: ${assigned.reason}`)
    state = {
      ...state,
      watermark: assigned,
      queued: [...state.queued, {
        shardId: state.shardId,
        batchId,
        first: first!,
        last: last!,
        size: tokens.length,
        batch: result.batch
      }]
    }
  }
  const flush = (mode: "partial" | "full") => applyFlush(state.flusher.flush(state.flusherState, mode))
  const flushAll = () => {
    flush("full")
    if (heldTokens().length > 0) fail("ContractViolation", "a full flush left records in the flusher")
  }
  const flushIfDue = () => {
    const since = oldestHeldSince()
    if (since !== null && now - since >= state.flushIntervalMillis) flush("partial")
  }
  const stop = (reason: BatchProcessor.ShutdownReason) => {
    const entries = state.watermark.entries
    const unwritten = entries.filter((entry) => entry.status === "held" || entry.status === "assigned").length
    const first = firstNotDone()
    const outcome: BatchProcessor.Outcome = {
      reason,
      checkpoint: state.storedCheckpoint,
      unwritten,
      firstUnwritten: first < entries.length ? entries[first].position : null
    }
    state = { ...state, phase: { _tag: "Stopped", outcome }, pendingCheckpoint: null }
    commands.push({ _tag: "Stop", outcome })
  }
  const requestCheckpoint = (checkpoint: Checkpoint.Checkpoint) => {
    state = { ...state, pendingCheckpoint: checkpoint, lastCheckpointAt: now, checkpointRetryDue: false }
    commands.push({ _tag: "Checkpoint", checkpoint })
  }
  const startWrites = () => {
    while (state.writing.length < state.maxConcurrentWrites && state.queued.length > 0) {
      const request = state.queued[0]
      state = { ...state, queued: state.queued.slice(1), writing: [...state.writing, request.batchId] }
      commands.push({ _tag: "Write", request })
    }
  }
  const afterEvent = () => {
    startWrites()
    if (
      state.phase._tag === "Running" && state.writing.length === 0 && state.queued.length === 0 &&
      outstanding(state) >= state.maxOutstanding
    ) {
      flush("partial")
      const first = firstNotDone()
      if (first < state.watermark.entries.length && state.watermark.entries[first].status === "held") flushAll()
      startWrites()
    }
    if (state.pendingCheckpoint !== null || state.phase._tag === "Stopped") return
    if (state.checkpointRetryDue && !isTick) return
    const drained = state.phase._tag === "Draining" && state.writing.length === 0 && state.queued.length === 0
    if (drained && state.phase._tag === "Draining" && state.phase.reason === "ShardEnded") {
      return requestCheckpoint(Checkpoint.shardEnd)
    }
    const candidate = NaiveWatermark.checkpoint(state.watermark)
    const stored = state.storedCheckpoint
    const advanced = candidate !== null &&
      (stored === null || (stored._tag === "AtPosition" && Position.compare(candidate, stored.position) > 0))
    if (drained) return advanced ? requestCheckpoint(Checkpoint.atPosition(candidate)) : stop("ShutdownRequested")
    const due = state.checkpointRetryDue || now - state.lastCheckpointAt >= state.checkpointIntervalMillis
    if (advanced && due) requestCheckpoint(Checkpoint.atPosition(candidate))
  }

  const handle = (): void => {
    const phase = state.phase
    if (phase._tag === "Stopped") {
      if (event._tag === "Tick") return
      if (event._tag === "Shutdown") {
        if (event.reason === "LeaseLost") return stop("LeaseLost")
        if (phase.outcome.reason === "ShutdownRequested" && event.reason === "ShardEnded") {
          state = { ...state, phase: { _tag: "Draining", reason: "ShardEnded" } }
          return afterEvent()
        }
        if (phase.outcome.reason === event.reason) return stop(event.reason)
      }
      return fail("UnexpectedEvent", "stopped")
    }
    switch (event._tag) {
      case "RecordsArrived": {
        if (phase._tag !== "Running") return fail("UnexpectedEvent", "records after shutdown")
        flushIfDue()
        for (const record of event.records) {
          if (state.lastPosition !== null && Position.compare(record, state.lastPosition) <= 0) {
            return fail("RecordOutOfOrder", Position.format(record))
          }
          state = { ...state, lastPosition: record }
          const token = Token.unsafeMake(state.watermark.entries.length)
          let result = state.flusher.add(state.flusherState, record, token, now)
          if (result._tag === "Full") {
            flush("partial")
            result = state.flusher.add(state.flusherState, record, token, now)
            if (result._tag === "Full") return fail("ContractViolation", "Full after a flush")
          }
          if (result._tag === "Failed") return fail("FlusherFailed", "add failed")
          state = {
            ...state,
            flusherState: result.state,
            watermark: NaiveWatermark.issue(state.watermark, [record], [result._tag === "Ignored"]),
            arrivedAt: [...state.arrivedAt, now]
          }
        }
        break
      }
      case "Tick": {
        isTick = true
        if (phase._tag === "Running") {
          applyFlush(state.flusher.heartbeat(state.flusherState, now))
          flushIfDue()
        }
        break
      }
      case "BatchWritten": {
        if (!state.writing.includes(event.batchId)) return fail("UnexpectedEvent", "not being written")
        state = {
          ...state,
          writing: state.writing.filter((id) => id !== event.batchId),
          watermark: NaiveWatermark.complete(state.watermark, event.batchId)
        }
        break
      }
      case "BatchWriteFailed": {
        if (!state.writing.includes(event.batchId)) return fail("UnexpectedEvent", "not being written")
        return fail("WriteFailed", event.batchId)
      }
      case "CheckpointStored": {
        const pending = state.pendingCheckpoint
        if (pending === null || Checkpoint.compare(pending, event.checkpoint) !== 0) {
          return fail("UnexpectedEvent", "no such checkpoint requested")
        }
        state = { ...state, storedCheckpoint: pending, pendingCheckpoint: null }
        if (pending._tag === "ShardEnd") return stop("ShardEnded")
        break
      }
      case "CheckpointRefused": {
        if (state.pendingCheckpoint === null) return fail("UnexpectedEvent", "no checkpoint requested")
        state = { ...state, pendingCheckpoint: null }
        if (event.reason === "LeaseLost") return stop("LeaseLost")
        state = { ...state, checkpointRetryDue: true }
        break
      }
      case "Shutdown": {
        if (event.reason === "LeaseLost") return stop("LeaseLost")
        if (phase._tag === "Running") flushAll()
        const ended = event.reason === "ShardEnded" || (phase._tag === "Draining" && phase.reason === "ShardEnded")
        state = { ...state, phase: { _tag: "Draining", reason: ended ? "ShardEnded" : "ShutdownRequested" } }
        break
      }
    }
    afterEvent()
  }

  try {
    handle()
  } catch (failure) {
    if (failure instanceof NaiveFailure) return Either.left(failure.error)
    throw failure
  }
  return Either.right({ state, commands })
}

class NaiveFailure {
  constructor(readonly error: NaiveError) {}
}
